"""Differential tests for LogQL: every query runs against Estuary and against the reference evaluator in
logql_reference.py over the same generated lines, and the answers must agree.

The data set is pushed once per module: the first half, then `POST /flush`, then the second half, so queries read
both the store and the ingester's memory. Each case writes its query twice: as LogQL text for Estuary and as a tree
for the reference (`R.*` constructors).

A difference from Loki found by this suite is written as the correct expectation with a strict xfail naming what
Estuary answers instead, so that it fails loudly once fixed (none today). Where Loki has a known bug (rate_counter's
extrapolation), the reference does what Prometheus does, as Estuary does, and docs/backend.md says so.
"""
import json
import math
import random
import re
import time

import pytest
import requests

import logql_reference as R
from conftest import PLAIN_LABELS, Backend  # PLAIN_LABELS: streams keep exactly the labels pushed
from lokipush import protobuf_body

NS = R.NS
MIN = 60 * NS
SEC = NS

# ---------------------------------------------------------------------------------------------------------------
# The data set
# ---------------------------------------------------------------------------------------------------------------

# Every entry lies in [T0, T0 + 30m); T0 is 40 minutes ago, on a whole minute.
T0 = (time.time_ns() - 40 * MIN) // MIN * MIN
SPAN = 30 * MIN

STREAMS = [
    {"app": "api", "env": "prod", "pod": "api-1"},
    {"app": "api", "env": "prod", "pod": "api-2"},
    {"app": "api", "env": "dev", "pod": "api-dev"},
    {"app": "web", "env": "prod", "pod": "web-1"},
    {"app": "web", "env": "dev", "pod": "web-dev"},
    {"app": "edge", "env": "prod", "pod": "edge-1"},
]
PER_STREAM = 380

LEVELS = ["info"] * 6 + ["debug"] * 2 + ["warn"] * 2 + ["error"]
STATUSES = [200] * 8 + [201, 404, 500, 503]
PATHS = ["/api/users", "/api/orders", "/health", "/api/login"]
MESSAGES = ['user \\"bob\\" logged in', "cache miss", "slow query", "retrying upstream", "done"]
JSON_MESSAGES = ['tab\there "quoted" \\ back é ✓', "cache miss", "payment failed", "ok"]


def _latency(rng):
    return rng.choice([f"{rng.randint(1, 999)}ms", f"{rng.randint(1, 3)}.{rng.randint(0, 9)}s", "250us"])


def _bytes(rng):
    return rng.choice([str(rng.randint(10, 5000))] * 4 + [f"{rng.randint(1, 9)}KB", f"{rng.randint(1, 3)}.5KiB"])


def _logfmt_line(rng, counter):
    level = rng.choice(LEVELS)
    return (f"level={level} status={rng.choice(STATUSES)} latency={_latency(rng)} bytes={_bytes(rng)} "
            f"path={rng.choice(PATHS)} counter={counter} msg=\"{rng.choice(MESSAGES)}\"")


def _json_line(rng):
    doc = {"level": rng.choice(LEVELS), "status": rng.choice(STATUSES),
           "latency_ms": rng.choice([12.5, 3, 250, 1e3, 0.25]),
           "msg": rng.choice(JSON_MESSAGES),
           "req": {"method": rng.choice(["GET", "POST"]), "path": rng.choice(PATHS),
                   "headers": {"user_agent": rng.choice(["curl/8.4", "Mozilla/5.0"])}},
           "tags": ["a", "b"][: rng.randint(1, 2)], "ok": rng.random() < 0.8}
    if rng.random() < 0.1:
        doc["app"] = "shadow"
    return json.dumps(doc, ensure_ascii=False)


def _edge_line(rng):
    ip = rng.choice(["10.0.3.7", "10.20.0.1", "192.168.1.20", "172.16.5.4", "8.8.8.8"])
    if rng.random() < 0.2:
        colour = rng.choice(["\x1b[31mERROR\x1b[0m", "\x1b[33mWARN\x1b[0m", "\x1b[1;32mINFO\x1b[0m"])
        return f"{colour} upstream {ip} answered in {rng.randint(1, 2000)}ms"
    return (f'{ip} - - "{rng.choice(["GET", "POST"])} {rng.choice(PATHS)} HTTP/1.1" '
            f"{rng.choice(STATUSES)} {rng.randint(100, 9000)} {rng.randint(1, 900)}ms")


def make_entries():
    rng = random.Random(20261207)
    entries = []
    for stream in STREAMS:
        offsets = sorted(rng.sample(range(SPAN), PER_STREAM))
        counter = 0
        for offset in offsets:
            ts = T0 + offset
            pod = stream["pod"]
            meta = {}
            if stream["app"] == "api":
                counter = 0 if (pod == "api-1" and rng.random() < 0.01) else counter + rng.randint(1, 10)
                roll = rng.random()
                if pod == "api-dev" and roll < 0.04:
                    line = "panic: runtime error"
                elif pod == "api-dev" and roll < 0.08:
                    line = f"level=warn status=500 latency=1ms bytes=1 path=/x counter={counter} msg=\"unterminated"
                elif pod == "api-dev" and roll < 0.12:
                    line = (f"level=info status=200 latency=3ms bytes=100 path=/x counter={counter} cached retry= "
                            f"msg=\"empty values\"")
                else:
                    line = _logfmt_line(rng, counter)
                if rng.random() < 0.04:
                    meta["trace_id"] = "%016x" % rng.getrandbits(64)
            elif stream["app"] == "web":
                roll = rng.random()
                if pod == "web-1" and roll < 0.1:
                    line = ('{"_entry":"level=info msg=\\"packed line\\"","container":"c%d","pod_ip":"10.1.2.%d",'
                            '"restarts":%d}' % (rng.randint(1, 2), rng.randint(1, 9), rng.randint(0, 3)))
                elif pod == "web-dev" and roll < 0.05:
                    line = '{"level":"error","msg":"truncated'
                elif pod == "web-dev" and roll < 0.1:
                    line = "plain words, neither json nor logfmt"
                else:
                    line = _json_line(rng)
                if rng.random() < 0.2:
                    meta["user"] = rng.choice(["alice", "bob"])
            else:
                line = _edge_line(rng)
            entries.append(R.Entry(ts, line, stream, meta))
    # Some entries share their timestamp with an entry of another stream.
    by_stream = {}
    for e in entries:
        by_stream.setdefault(e.stream["pod"], []).append(e)
    pods = list(by_stream)
    for i in range(24):
        a, b = rng.sample(pods, 2)
        src = rng.choice(by_stream[a])
        dst = rng.choice(by_stream[b])
        if all(e.ts != src.ts for e in by_stream[b]):
            dst.ts = src.ts
    return entries


def make_duplicated():
    """Two streams no other case selects, pushed twice: `copy="stored"` again after its first half was flushed
    (one copy in the store, one in memory), `copy="memory"` again while its second half is in memory. Loki
    answers each entry once (the ingester drops an exact duplicate; the querier's merge iterators dedupe
    entries and samples with the same time and line)."""
    rng = random.Random(99)
    entries, again = [], []
    for copy in ("stored", "memory"):
        stream = {"job": "dup", "copy": copy}
        for offset in sorted(rng.sample(range(SPAN), 60)):
            e = R.Entry(T0 + offset, f"dup {copy} {offset} level={rng.choice(LEVELS)}", stream,
                        {"user": "carol"} if rng.random() < 0.3 else {})
            entries.append(e)
            if (copy == "stored") == (e.ts < T0 + SPAN // 2):
                again.append(e)
    return entries, again


def make_shadowing_metadata():
    """A stream no other case selects whose entries carry structured metadata named like its stream labels."""
    rng = random.Random(5)
    stream = {"job": "meta", "pod": "m-1"}
    out = []
    for offset in sorted(rng.sample(range(SPAN), 50)):
        meta = rng.choice([{}, {"pod": "other"}, {"pod": "other", "job": "x"}, {"user": "dave"}])
        out.append(R.Entry(T0 + offset, f"shadow {offset}", stream, meta))
    return out


ENTRIES = make_entries()
_DUP_ENTRIES, DUPLICATES = make_duplicated()
ENTRIES += _DUP_ENTRIES + make_shadowing_metadata()


def _push(url, entries):
    streams = {}
    for e in entries:
        streams.setdefault(R.key(e.stream), []).append((e.ts, e.line, e.meta))
    body = protobuf_body([("{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}", sorted(es, key=lambda x: x[0]))
                          for labels, es in streams.items()])
    r = requests.post(f"{url}/loki/api/v1/push", data=body, headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text


@pytest.fixture(scope="module")
def backend():
    b = Backend(limits=PLAIN_LABELS).start()
    half = T0 + SPAN // 2
    _push(b.url, [e for e in ENTRIES if e.ts < half])
    r = requests.post(f"{b.url}/flush")
    assert r.status_code in (200, 204), r.text
    _push(b.url, [e for e in ENTRIES if e.ts >= half])
    # Exact duplicates (same stream, time, line and metadata) of flushed entries and of entries in memory.
    _push(b.url, DUPLICATES)
    yield b
    b.stop()


# ---------------------------------------------------------------------------------------------------------------
# Running a case and comparing
# ---------------------------------------------------------------------------------------------------------------

def _format_float(v):
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return None


def _same_value(text, expected):
    spelled = _format_float(expected)
    if spelled is not None:
        return text == spelled
    return math.isclose(float(text), expected, rel_tol=1e-9, abs_tol=1e-12)


def _ms(seconds):
    return round(float(seconds) * 1000)


def _get(url, path, params):
    r = requests.get(url + path, params=params)
    return r


def run_log(url, case):
    p = case.params
    start, end = p.get("start", T0), p.get("end", T0 + SPAN + MIN)
    limit, direction = p.get("limit", 5000), p.get("direction", "backward")
    params = {"query": case.query, "start": start, "end": end, "limit": limit, "direction": direction}
    if p.get("defaults"):
        # Loki's defaults: the 100 newest entries.
        del params["limit"], params["direction"]
        limit, direction = 100, "backward"
    r = _get(url, "/loki/api/v1/query_range", params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["resultType"] == "streams"
    got = {}
    for s in body["data"]["result"]:
        labels = dict(s["stream"])
        if case.any_details and "__error_details__" in labels:
            assert labels["__error_details__"], labels
            labels["__error_details__"] = "<any>"
        k = R.key(labels)
        assert k not in got, f"stream {labels} appears twice"
        got[k] = [(int(ts), line) for ts, line in s["values"]]
    want = R.log_query(case.ref, ENTRIES, start, end, limit, direction)
    if case.any_details:
        want = {R.key({**dict(k), **({"__error_details__": "<any>"} if "__error_details__" in dict(k) else {})}): v
                for k, v in want.items()}
    assert sum(map(len, want.values())) > 0 or case.empty_ok, "the case selects nothing: make it select something"
    assert sorted(got) == sorted(want), _label_diff(got, want)
    for k in want:
        assert got[k] == want[k], f"entries of {dict(k)} differ"


def _label_diff(got, want):
    extra = [dict(k) for k in got if k not in want][:3]
    missing = [dict(k) for k in want if k not in got][:3]
    return f"streams/series differ: unexpected {extra} ... missing {missing} ({len(got)} vs {len(want)} expected)"


def run_range(url, case):
    p = case.params
    start, end, step = p.get("start", T0 + 5 * MIN), p.get("end", T0 + SPAN), p.get("step", MIN)
    params = {"query": case.query, "start": start, "end": end, "step": p.get("step_text", f"{step / NS}")}
    if p.get("no_step"):
        # Loki's defaultQueryRangeStep: about 250 points, whole seconds, at least one.
        del params["step"]
        step = max((end - start) // NS // 250, 1) * NS
    r = _get(url, "/loki/api/v1/query_range", params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["data"]["resultType"] == "matrix", body["data"]["resultType"]
    got = {}
    for s in body["data"]["result"]:
        k = R.key(s["metric"])
        assert k not in got, f"series {s['metric']} appears twice"
        got[k] = s["values"]
    want = R.range_query(case.ref, ENTRIES, start, end, step)
    assert want or case.empty_ok, "the case has no samples: make it select something"
    assert sorted(got) == sorted(want), _label_diff(got, want)
    assert list(got) == sorted(got), "the series are not ordered by labels, as Loki's matrix is"
    for k, points in want.items():
        g = got[k]
        assert [_ms(t) for t, _ in g] == [t // 1_000_000 for t, _ in points], f"timestamps of {dict(k)} differ"
        for (t, text), (_, value) in zip(g, points):
            assert _same_value(text, value), f"{dict(k)} at {t}: got {text}, want {value!r}"


def run_instant(url, case):
    t = case.params.get("time", T0 + 17 * MIN + 123_456_789)
    r = _get(url, "/loki/api/v1/query", {"query": case.query, "time": t})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    kind, want = R.instant_query(case.ref, ENTRIES, t)
    assert data["resultType"] == kind
    if kind == "scalar":
        ts, text = data["result"]
        assert _ms(ts) == t // 1_000_000
        assert _same_value(text, want)
        return
    got = [(R.key(s["metric"]), s["value"]) for s in data["result"]]
    assert want or case.empty_ok, "the case has no samples: make it select something"
    assert sorted(k for k, _ in got) == sorted(k for k, _ in want), _label_diff(dict(got), dict(want))
    values = dict(want)
    for k, (ts, text) in got:
        assert _ms(ts) == t // 1_000_000
        assert _same_value(text, values[k]), f"{dict(k)}: got {text}, want {values[k]!r}"
    # Loki orders an instant vector by labels, or by value for sort and sort_desc (engine.go, Sortable).
    assert [k for k, _ in got] == [k for k, _ in want], "the samples are not in Loki's order"


class Case:
    def __init__(self, kind, query, ref, *, marks=(), empty_ok=False, ordered=False, any_details=False, **params):
        self.kind, self.query, self.ref, self.params = kind, query, ref, params
        self.marks, self.empty_ok, self.ordered, self.any_details = marks, empty_ok, ordered, any_details

    def param(self):
        return pytest.param(self, id=f"{self.kind}:{self.query}", marks=self.marks)


def log(query, ref, **kw):
    return Case("log", query, ref, **kw)


def rng(query, ref, **kw):
    return Case("range", query, ref, **kw)


def inst(query, ref, **kw):
    return Case("instant", query, ref, **kw)


def both(query, ref, marks=(), **kw):
    """The same sample expression as a range query and as an instant query; `marks` apply to both, or give
    (range marks, instant marks)."""
    if isinstance(marks, tuple) and len(marks) == 2 and all(isinstance(m, (tuple, list)) for m in marks):
        range_marks, instant_marks = marks
    else:
        range_marks = instant_marks = marks
    return [rng(query, ref, marks=range_marks, **kw), inst(query, ref, marks=instant_marks, **kw)]




# Shorthands for the reference trees.
def sel(*matchers, stages=()):
    return R.Log([tuple(m) for m in matchers], list(stages))


def eq(name, value):
    return (name, "=", value)


def re_(name, value):
    return (name, "=~", value)


def ne(name, value):
    return (name, "!=", value)


def nre(name, value):
    return (name, "!~", value)


def cot(log_, r, **kw):
    return R.Range("count_over_time", log_, r, **kw)


def sum_by(inner, *by):
    return R.Agg("sum", inner, by=list(by))


# ---------------------------------------------------------------------------------------------------------------
# Cases Estuary runs today
# ---------------------------------------------------------------------------------------------------------------

API = sel(eq("app", "api"))
WEB = sel(eq("app", "web"))
EDGE = sel(eq("app", "edge"))
PROD = sel(eq("env", "prod"))
ANY = sel(re_("env", ".+"))


def _entry_time(pod, index):
    return sorted(e.ts for e in ENTRIES if e.stream.get("pod") == pod)[index]


WINDOW_START = _entry_time("api-1", 100)  # an entry exactly at start is included
WINDOW_END = _entry_time("api-1", 140)  # an entry exactly at end is not

LOG_CASES = [
    log('{app="api"}', API, direction="forward"),
    log('{app="api", env="prod"}', sel(eq("app", "api"), eq("env", "prod")), limit=37),
    log('{app="api", env="prod"}', sel(eq("app", "api"), eq("env", "prod")), limit=37, direction="forward"),
    log('{app=~"api|web", env!="dev"} |= "error"',
        sel(re_("app", "api|web"), ne("env", "dev"), stages=[R.line_contains("error")]), direction="forward"),
    log('{pod=~"web-.*"} != "alice" |~ "status\\": 5\\\\d\\\\d"',
        sel(re_("pod", "web-.*"), stages=[R.line_not_contains("alice"), R.line_regex('status": 5\\d\\d')])),
    log('{app="edge"} !~ "GET|POST"', sel(eq("app", "edge"), stages=[R.line_not_regex("GET|POST")])),
    log('{app="api"} |= "level=error" or "level=warn"',
        sel(eq("app", "api"), stages=[R.line_contains("level=error", "level=warn")])),
    log('{app="api"} != "level=info" or "level=debug"',
        sel(eq("app", "api"), stages=[R.line_not_contains("level=info", "level=debug")])),
    log('{env="dev"} |~ "(?i)PANIC|TRUNCATED"', sel(eq("env", "dev"), stages=[R.line_regex("(?i)PANIC|TRUNCATED")])),
    log('{env="dev"} !~ "level=(info|debug)" |= "status"',
        sel(eq("env", "dev"), stages=[R.line_not_regex("level=(info|debug)"), R.line_contains("status")])),
    log('{pod="api-1"}', sel(eq("pod", "api-1")), start=WINDOW_START, end=WINDOW_END),
    log('{pod="api-1"}', sel(eq("pod", "api-1")), start=WINDOW_START, end=WINDOW_END, direction="forward"),
    log('{app!="api", env="prod"}', sel(ne("app", "api"), eq("env", "prod")), limit=50),
    log('{app!="api", env="prod"}', sel(ne("app", "api"), eq("env", "prod")), limit=50, direction="forward"),
    log('{app="web"} |= "\\"user_agent\\": \\"curl"',
        sel(eq("app", "web"), stages=[R.line_contains('"user_agent": "curl')])),
    log('{app="edge"} |= "\\x1b[31m"', sel(eq("app", "edge"), stages=[R.line_contains("\x1b[31m")])),
    log('{app="nothing"}', sel(eq("app", "nothing")), empty_ok=True),
    log('{env="dev"}', sel(eq("env", "dev")), defaults=True),
    # Label matcher regexes are anchored, line filter regexes are not.
    log('{pod=~"api-."} |~ "level=err"', sel(re_("pod", "api-."), stages=[R.line_regex("level=err")])),
    log('{pod=~"web"}', sel(re_("pod", "web")), empty_ok=True),
    # Limits across the flush: the first half is read from the store, the second from the ingester.
    log('{env="prod"}', PROD, start=T0 + 14 * MIN, end=T0 + 16 * MIN, limit=60,
        direction="forward"),
    log('{env="prod"}', PROD, start=T0 + 14 * MIN, end=T0 + 16 * MIN, limit=60),
    log('{env=~"prod|dev"} |~ "api/(users|login)"',
        sel(re_("env", "prod|dev"), stages=[R.line_regex("api/(users|login)")]),
        start=T0 + 14 * MIN + 30 * SEC, end=T0 + 15 * MIN + 30 * SEC),
]


METRIC_CASES = [
    *both('count_over_time({app="api"}[5m])', cot(API, 5 * MIN)),
    *both('rate({app="web"} |= "error" [2m])',
          R.Range("rate", sel(eq("app", "web"), stages=[R.line_contains("error")]), 2 * MIN), step=37 * SEC),
    *both('bytes_over_time({app="edge"}[3m])', R.Range("bytes_over_time", EDGE, 3 * MIN)),
    *both('bytes_rate({env="dev"}[90s])', R.Range("bytes_rate", sel(eq("env", "dev")), 90 * SEC)),
    # A step that does not divide the range, and a window shorter than the step.
    rng('count_over_time({pod="edge-1"}[20s])', cot(sel(eq("pod", "edge-1")), 20 * SEC),
        start=T0 + 5 * MIN + 500_000_000, step=37 * SEC),
    rng('count_over_time({pod="edge-1"}[1s])', cot(sel(eq("pod", "edge-1")), SEC), step=SEC,
        start=T0 + 10 * MIN, end=T0 + 12 * MIN),
    *both('absent_over_time({app="nope"}[1m])', R.Range("absent_over_time", sel(eq("app", "nope")), MIN)),
    rng('absent_over_time({app="api", env="prod"}[1m])',
        R.Range("absent_over_time", sel(eq("app", "api"), eq("env", "prod")), MIN),
        start=T0 - 5 * MIN, end=T0 + 3 * MIN, step=30 * SEC),
    rng('absent_over_time({app="api", app="api", env=~"prod"}[1m])',
        R.Range("absent_over_time", sel(eq("app", "api"), eq("app", "api"), re_("env", "prod")), MIN),
        start=T0 - 5 * MIN, end=T0 + 3 * MIN, step=30 * SEC),
    *both('rate({app="api"}[1m]) by (env)', R.Range("rate", API, MIN, by=["env"])),
    # Offsets move the window back; the timestamps stay.
    *both('count_over_time({app="edge"}[2m] offset 5m)', cot(EDGE, 2 * MIN, offset=5 * MIN)),
    *both('sum(rate({app="api"}[1m] offset 90s))', R.Agg("sum", R.Range("rate", API, MIN, offset=90 * SEC))),
    # Vector aggregations.
    *both('sum by (app) (count_over_time({env=~".+"}[5m]))', sum_by(cot(ANY, 5 * MIN), "app")),
    *both('sum without (pod, trace_id, user) (rate({app=~"api|web"}[1m]))',
          R.Agg("sum", R.Range("rate", sel(re_("app", "api|web")), MIN), without=["pod", "trace_id", "user"])),
    *both('sum(count_over_time({env=~".+"}[5m]))', R.Agg("sum", cot(ANY, 5 * MIN))),
    *both('avg by (env) (count_over_time({env=~".+"}[5m]))', R.Agg("avg", cot(ANY, 5 * MIN), by=["env"])),
    *both('min by (app) (bytes_over_time({env=~".+"}[5m]))',
          R.Agg("min", R.Range("bytes_over_time", ANY, 5 * MIN), by=["app"])),
    *both('max without (pod) (bytes_over_time({env=~".+"}[5m]))',
          R.Agg("max", R.Range("bytes_over_time", ANY, 5 * MIN), without=["pod"])),
    *both('count by (app) (count_over_time({env=~".+"}[5m]))', R.Agg("count", cot(ANY, 5 * MIN), by=["app"])),
    *both('count(count_over_time({env=~".+"}[5m]))', R.Agg("count", cot(ANY, 5 * MIN))),
    *both('stddev by (env) (bytes_over_time({env=~".+"}[5m]))',
          R.Agg("stddev", R.Range("bytes_over_time", ANY, 5 * MIN), by=["env"])),
    *both('stdvar(bytes_over_time({env=~".+"}[5m]))', R.Agg("stdvar", R.Range("bytes_over_time", ANY, 5 * MIN))),
    *both('topk(2, sum by (pod) (bytes_over_time({env=~".+"}[5m])))',
          R.Agg("topk", sum_by(R.Range("bytes_over_time", ANY, 5 * MIN), "pod"), param=2)),
    *both('bottomk(1, sum by (pod, env) (bytes_over_time({env=~".+"}[5m]))) by (env)',
          R.Agg("bottomk", sum_by(R.Range("bytes_over_time", ANY, 5 * MIN), "pod", "env"), by=["env"], param=1)),
    *both('topk by (app) (1, sum by (app, pod) (bytes_over_time({env=~".+"}[5m])))',
          R.Agg("topk", sum_by(R.Range("bytes_over_time", ANY, 5 * MIN), "app", "pod"), by=["app"], param=1)),
    inst('sort(sum by (pod) (bytes_over_time({env=~".+"}[5m])))',
         R.Agg("sort", sum_by(R.Range("bytes_over_time", ANY, 5 * MIN), "pod")), ordered=True),
    inst('sort_desc(sum by (pod) (bytes_over_time({env=~".+"}[5m])))',
         R.Agg("sort_desc", sum_by(R.Range("bytes_over_time", ANY, 5 * MIN), "pod")), ordered=True),
    # Binary operators with scalars.
    *both('sum(count_over_time({app="api"}[1m])) * 2 + 1',
          R.Bin("+", R.Bin("*", R.Agg("sum", cot(API, MIN)), R.Num(2)), R.Num(1))),
    *both('1 - sum by (env) (rate({app="api"}[5m]))',
          R.Bin("-", R.Num(1), sum_by(R.Range("rate", API, 5 * MIN), "env"))),
    *both('sum by (env) (count_over_time({app="api"}[5m])) ^ 2 % 7',
          R.Bin("%", R.Bin("^", sum_by(cot(API, 5 * MIN), "env"), R.Num(2)), R.Num(7))),
    *both('sum by (env) (count_over_time({app="api"}[5m])) / 0',
          R.Bin("/", sum_by(cot(API, 5 * MIN), "env"), R.Num(0))),
    *both('(sum(count_over_time({app="api"}[5m])) - sum(count_over_time({app="api"}[5m]))) / 0',
          R.Bin("/", R.Bin("-", R.Agg("sum", cot(API, 5 * MIN)), R.Agg("sum", cot(API, 5 * MIN))), R.Num(0))),
    *both('sum by (pod) (count_over_time({app="api"}[5m])) > 40',
          R.Bin(">", sum_by(cot(API, 5 * MIN), "pod"), R.Num(40))),
    *both('sum by (pod) (count_over_time({app="api"}[5m])) > bool 40',
          R.Bin(">", sum_by(cot(API, 5 * MIN), "pod"), R.Num(40), bool=True)),
    *both('60 <= sum by (pod) (count_over_time({app="api"}[5m]))',
          R.Bin("<=", R.Num(60), sum_by(cot(API, 5 * MIN), "pod"))),
    *both('sum by (pod) (count_over_time({app="api"}[5m])) != bool 60',
          R.Bin("!=", sum_by(cot(API, 5 * MIN), "pod"), R.Num(60), bool=True)),
    # Vector to vector.
    *both('sum by (env) (count_over_time({app="api"}[5m])) / sum by (env) (count_over_time({env=~".+"}[5m]))',
          R.Bin("/", sum_by(cot(API, 5 * MIN), "env"), sum_by(cot(ANY, 5 * MIN), "env"))),
    *both('sum by (env) (count_over_time({app="api"}[5m])) > sum by (env) (count_over_time({app="web"}[5m]))',
          R.Bin(">", sum_by(cot(API, 5 * MIN), "env"), sum_by(cot(WEB, 5 * MIN), "env"))),
    *both('sum by (env) (count_over_time({app="api"}[5m])) >= bool sum by (env) (count_over_time({app="web"}[5m]))',
          R.Bin(">=", sum_by(cot(API, 5 * MIN), "env"), sum_by(cot(WEB, 5 * MIN), "env"), bool=True)),
    *both('sum by (env, app) (count_over_time({env=~".+"}[5m])) / on (env) group_left '
          'sum by (env) (count_over_time({env=~".+"}[5m]))',
          R.Bin("/", sum_by(cot(ANY, 5 * MIN), "env", "app"), sum_by(cot(ANY, 5 * MIN), "env"), on=["env"],
                group_left=[])),
    *both('sum by (env) (count_over_time({env=~".+"}[5m])) * on (env) group_right '
          'sum by (env, pod) (count_over_time({env=~".+"}[5m]))',
          R.Bin("*", sum_by(cot(ANY, 5 * MIN), "env"), sum_by(cot(ANY, 5 * MIN), "env", "pod"), on=["env"],
                group_right=[])),
    *both('sum by (env, app) (count_over_time({env=~".+"}[5m])) - on (env) group_left (pod) '
          'max by (env, pod) (count_over_time({app="web"}[5m]))',
          R.Bin("-", sum_by(cot(ANY, 5 * MIN), "env", "app"), R.Agg("max", cot(WEB, 5 * MIN), by=["env", "pod"]),
                on=["env"], group_left=["pod"])),
    *both('sum by (env, app) (count_over_time({env=~".+"}[5m])) - ignoring (app) group_left '
          'sum by (env) (count_over_time({app="web"}[5m]))',
          R.Bin("-", sum_by(cot(ANY, 5 * MIN), "env", "app"), sum_by(cot(WEB, 5 * MIN), "env"), ignoring=["app"],
                group_left=[])),
    *both('sum by (env, app) (count_over_time({env=~".+"}[5m])) + on (env, app) '
          'sum by (env, app) (rate({env=~".+"}[1m]))',
          R.Bin("+", sum_by(cot(ANY, 5 * MIN), "env", "app"), sum_by(R.Range("rate", ANY, MIN), "env", "app"),
                on=["env", "app"])),
    *both('sum by (pod) (count_over_time({env=~".+"}[5m])) and sum by (pod) (count_over_time({app="web"}[5m]))',
          R.Bin("and", sum_by(cot(ANY, 5 * MIN), "pod"), sum_by(cot(WEB, 5 * MIN), "pod"))),
    *both('sum by (pod) (count_over_time({app="api"}[5m])) or sum by (pod) (count_over_time({env="dev"}[5m]))',
          R.Bin("or", sum_by(cot(API, 5 * MIN), "pod"), sum_by(cot(sel(eq("env", "dev")), 5 * MIN), "pod"))),
    *both('sum by (pod, env) (count_over_time({env=~".+"}[5m])) unless on (env) '
          'sum by (env) (count_over_time({env="dev"}[5m]))',
          R.Bin("unless", sum_by(cot(ANY, 5 * MIN), "pod", "env"), sum_by(cot(sel(eq("env", "dev")), 5 * MIN), "env"),
                on=["env"])),
    *both('sum by (trace_id) (count_over_time({app="api"}[5m]))', sum_by(cot(API, 5 * MIN), "trace_id")),
    *both('sum(count_over_time({env=~".+"}[5m])) by (env)', sum_by(cot(ANY, 5 * MIN), "env")),
    *both('avg(bytes_over_time({env=~".+"}[5m])) without (pod, trace_id, user)',
          R.Agg("avg", R.Range("bytes_over_time", ANY, 5 * MIN), without=["pod", "trace_id", "user"])),
    *both('max(sum by (pod) (rate({env=~".+"}[2m])))', R.Agg("max", sum_by(R.Range("rate", ANY, 2 * MIN), "pod"))),
    rng('absent_over_time({pod="edge-1"}[1s])', R.Range("absent_over_time", sel(eq("pod", "edge-1")), SEC),
        start=T0 + 10 * MIN, end=T0 + 11 * MIN, step=SEC),
    rng('count_over_time({app="web"}[1m])', cot(WEB, MIN), step=MIN, step_text="1m"),
    rng('sum by (pod) (count_over_time({app="web"}[30s]))', sum_by(cot(WEB, 30 * SEC), "pod"), no_step=True),
    *both('sum by (env) (count_over_time({app="api"} |= "level=error" or "level=warn" [5m]))',
          sum_by(cot(sel(eq("app", "api"), stages=[R.line_contains("level=error", "level=warn")]), 5 * MIN), "env")),
    rng('sum by (env) (bytes_rate({env=~".+"}[45s]))', sum_by(R.Range("bytes_rate", ANY, 45 * SEC), "env"),
        start=T0 + 2 * MIN + 7_000_000, end=T0 + 29 * MIN - 1, step=23 * SEC),
    # Without aggregation: series keep every label, structured metadata included.
    *both('count_over_time({app="api"}[5m]) / count_over_time({app="api"} |= "level=info" [5m])',
          R.Bin("/", cot(API, 5 * MIN), cot(sel(eq("app", "api"), stages=[R.line_contains("level=info")]), 5 * MIN))),
    *both('count_over_time({app="api", pod!~"api-(1|dev)"}[5m]) > 3',
          R.Bin(">", cot(sel(eq("app", "api"), nre("pod", "api-(1|dev)")), 5 * MIN), R.Num(3))),
    *both('sum by (nonexistent) (count_over_time({app="web"}[5m]))', sum_by(cot(WEB, 5 * MIN), "nonexistent")),
    *both('sum without (app, env, pod, trace_id, user) (count_over_time({env=~".+"}[5m]))',
          R.Agg("sum", cot(ANY, 5 * MIN), without=["app", "env", "pod", "trace_id", "user"])),
    *both('sum by (app) (count_over_time({env=~".+"}[5m])) % 0',
          R.Bin("%", sum_by(cot(ANY, 5 * MIN), "app"), R.Num(0))),
    *both('sum by (app) (count_over_time({env=~".+"}[5m])) ^ 200',
          R.Bin("^", sum_by(cot(ANY, 5 * MIN), "app"), R.Num(200))),
    *both('sum(rate({app="api"}[5m])) * 100 / sum(rate({app=~".+"}[5m]))',
          R.Bin("/", R.Bin("*", R.Agg("sum", R.Range("rate", API, 5 * MIN)), R.Num(100)),
                R.Agg("sum", R.Range("rate", sel(re_("app", ".+")), 5 * MIN)))),
    *both('sum by (env) (count_over_time({app="api"}[5m])) or on (env) '
          'sum by (env, app) (count_over_time({app="web"}[5m]))',
          R.Bin("or", sum_by(cot(API, 5 * MIN), "env"), sum_by(cot(WEB, 5 * MIN), "env", "app"), on=["env"])),
    *both('sum by (pod) (count_over_time({env="dev"}[5m])) and on () vector(1)',
          R.Bin("and", sum_by(cot(sel(eq("env", "dev")), 5 * MIN), "pod"), R.VectorLit(1), on=[])),
    *both("vector(1) + vector(2)", R.Bin("+", R.VectorLit(1), R.VectorLit(2))),
    *both('sum by (app) (count_over_time({env=~".+"}[5m])) / on () group_left sum(count_over_time({env=~".+"}[5m]))',
          R.Bin("/", sum_by(cot(ANY, 5 * MIN), "app"), R.Agg("sum", cot(ANY, 5 * MIN)), on=[], group_left=[])),
    # One step when start == end.
    rng('count_over_time({app="api"}[5m])', cot(API, 5 * MIN), start=T0 + 10 * MIN, end=T0 + 10 * MIN),
    inst('count_over_time({app="api"}[5m])', cot(API, 5 * MIN), time=T0 - MIN, empty_ok=True),
    # Scalars and vector().
    inst("1 + -2 / 1", R.Num(-1)),
    inst("1 + 1 - -1", R.Num(3)),
    inst("2 ^ 3 ^ 2", R.Num(512)),  # ^ is right-associative
    *both('sum(count_over_time({app="api"}[5m])) + sum(count_over_time({app="web"}[5m])) * 2 ^ 2',
          R.Bin("+", R.Agg("sum", cot(API, 5 * MIN)),
                R.Bin("*", R.Agg("sum", cot(WEB, 5 * MIN)), R.Bin("^", R.Num(2), R.Num(2))))),
    *both("vector(3) > bool 2", R.Bin(">", R.VectorLit(3), R.Num(2), bool=True)),
    *both("vector(3) < 2", R.Bin("<", R.VectorLit(3), R.Num(2)), empty_ok=True),
    inst("1 + 2 * 3", R.Num(7)),
    inst("2 ^ 10 / 4", R.Num(256)),
    *both("vector(5)", R.VectorLit(5)),
    rng("3 * 2", R.Num(6)),
    *both('vector(1) + sum(count_over_time({app="web"}[5m]))',
          R.Bin("+", R.VectorLit(1), R.Agg("sum", cot(WEB, 5 * MIN)))),
    *both('sum(count_over_time({app="nothing"}[5m])) or vector(0)',
          R.Bin("or", R.Agg("sum", cot(sel(eq("app", "nothing")), 5 * MIN)), R.VectorLit(0))),
    # label_replace.
    *both('label_replace(sum by (pod) (count_over_time({app="api"}[5m])), "shard", "$1", "pod", "api-(.*)")',
          R.LabelReplace(sum_by(cot(API, 5 * MIN), "pod"), "shard", "$1", "pod", "api-(.*)")),
    *both('label_replace(sum by (pod, env) (count_over_time({app="api"}[5m])), "pod", "", "env", "dev")',
          R.LabelReplace(sum_by(cot(API, 5 * MIN), "pod", "env"), "pod", "", "env", "dev")),
    *both('label_replace(sum by (app) (count_over_time({env=~".+"}[5m])), "kind", "x-${1}", "app", "(w|e).*")',
          R.LabelReplace(sum_by(cot(ANY, 5 * MIN), "app"), "kind", "x-${1}", "app", "(w|e).*")),
    # An instant query exactly at an entry's time includes it (windows are (t - range, t]).
    inst('count_over_time({pod="api-1"}[10s])', cot(sel(eq("pod", "api-1")), 10 * SEC), time=WINDOW_END),
    inst('count_over_time({pod="api-1"}[10s])', cot(sel(eq("pod", "api-1")), 10 * SEC), time=WINDOW_END - 1),
    inst('count_over_time({pod="api-1"}[10s])', cot(sel(eq("pod", "api-1")), 10 * SEC),
         time=WINDOW_START + 10 * SEC, empty_ok=True),
]


# Entries pushed twice (see make_duplicated) count once.
DUP = sel(eq("job", "dup"))
DUPLICATE_CASES = [
    log('{job="dup"}', DUP, direction="forward"),
    log('{job="dup", copy="stored"} |= "level=info"', sel(eq("job", "dup"), eq("copy", "stored"),
                                                          stages=[R.line_contains("level=info")]), limit=10),
]
# Structured metadata named like a stream label is returned as `<name>_extracted` (LabelsBuilder.Add).
DUPLICATE_CASES += [
    log('{job="meta"}', sel(eq("job", "meta"))),
    *both('count_over_time({job="meta"}[5m])', cot(sel(eq("job", "meta")), 5 * MIN)),
]
for _copy in ("stored", "memory"):
    _sel = sel(eq("job", "dup"), eq("copy", _copy))
    DUPLICATE_CASES += [
        *both(f'count_over_time({{job="dup", copy="{_copy}"}}[5m])', cot(_sel, 5 * MIN)),
        *both(f'sum(bytes_over_time({{job="dup", copy="{_copy}"}}[10m]))',
              R.Agg("sum", R.Range("bytes_over_time", _sel, 10 * MIN))),
    ]


# ---------------------------------------------------------------------------------------------------------------
# Cases that run the log pipeline: parsers, formatters, label filters, unwrap
# ---------------------------------------------------------------------------------------------------------------

API1 = [eq("pod", "api-1")]


def _upper(labels, line):
    return labels.get("level", "").upper()


def _line_fmt_funcs(labels, line):
    return (f"{labels['level'].upper()} {labels['path'].replace('/', '_')} "
            f"{'boom' if labels['status'] == '500' else 'ok'} {line[:10]}")


def _unwrap(label, conversion="", *filters):
    return R.Unwrap(label, conversion, list(filters))


KEEP_POD_BYTES = R.keep("pod", "bytes")

PIPELINE_CASES = [
    log('{pod="api-1"} | logfmt', sel(*API1, stages=[R.logfmt_parser()]), limit=100),
    log('{app="api"} | logfmt | status >= 500',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_num("status", ">=", 500)])),
    log('{app="api"} | logfmt | level="error" or status=404',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_or(R.label_str("level", "=", "error"),
                                                                    R.label_num("status", "==", 404))])),
    log('{app="api"} | logfmt | latency > 500ms and bytes >= 2KB',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_and(R.label_duration("latency", ">", "500ms"),
                                                                     R.label_bytes("bytes", ">=", "2KB"))])),
    log('{app="api"} | logfmt | (level=~"warn|error", status != 200) or path="/health"',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_or(
            R.label_and(R.label_str("level", "=~", "warn|error"), R.label_num("status", "!=", 200)),
            R.label_str("path", "=", "/health"))])),
    # `and` binds tighter than `or`; a space or a comma between filters is `and`.
    log('{app="api"} | logfmt | level="error" or status >= 500 and latency > 1s',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_or(
            R.label_str("level", "=", "error"),
            R.label_and(R.label_num("status", ">=", 500), R.label_duration("latency", ">", "1s")))])),
    log('{app="api"} | logfmt | level="warn" path="/health", status!=200',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_and(
            R.label_str("level", "=", "warn"), R.label_str("path", "=", "/health"),
            R.label_num("status", "!=", 200))])),
    log('{app="api"} | logfmt | level!~"info|debug" | latency <= 20ms | status == 503',
        sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_str("level", "!~", "info|debug"),
                                      R.label_duration("latency", "<=", "20ms"), R.label_num("status", "==", 503)])),
    # A number filter on a value that is no number keeps the line with Go's error as details.
    log('{pod="api-1"} | logfmt | latency > 10 | keep level',
        sel(*API1, stages=[R.logfmt_parser(), R.label_num("latency", ">", 10), R.keep("level")])),
    log('{app="api"} | logfmt level, code="status"',
        sel(eq("app", "api"), stages=[R.logfmt_parser(level="level", code="status")]), limit=300),
    log('{pod="api-dev"} | logfmt --strict | drop __error_details__',
        sel(eq("pod", "api-dev"), stages=[R.logfmt_parser(strict=True), R.drop("__error_details__")])),
    log('{pod="api-dev"} | logfmt --keep-empty', sel(eq("pod", "api-dev"), stages=[R.logfmt_parser(keep_empty=True)])),
    log('{pod="api-dev"} | logfmt --strict --keep-empty | __error__=""',
        sel(eq("pod", "api-dev"), stages=[R.logfmt_parser(strict=True, keep_empty=True),
                                          R.label_str("__error__", "=", "")])),
    log('{pod="web-1"} | json', sel(eq("pod", "web-1"), stages=[R.json_parser()])),
    log('{pod="web-dev"} | json | __error__ != ""',
        sel(eq("pod", "web-dev"), stages=[R.json_parser(), R.label_str("__error__", "!=", "")]), any_details=True),
    log('{pod="web-dev"} | json | __error__ = "" | drop __error__, __error_details__',
        sel(eq("pod", "web-dev"), stages=[R.json_parser(), R.label_str("__error__", "=", ""),
                                          R.drop("__error__", "__error_details__")])),
    log('{pod="web-1"} |= `"req"` | json m="msg", meth="req.method", first_tag="tags[0]", '
        'ua=`req["headers"]["user_agent"]`',
        sel(eq("pod", "web-1"), stages=[R.line_contains('"req"'), R.json_parser(
            m="msg", meth="req.method", first_tag="tags[0]", ua='req["headers"]["user_agent"]')])),
    log('{app="web"} | json | __error__="" | status >= 500 | line_format "{{.req_method}} {{.req_path}} {{.status}}"',
        sel(eq("app", "web"), stages=[R.json_parser(), R.label_str("__error__", "=", ""),
                                      R.label_num("status", ">=", 500), R.line_format(
            lambda l, line: f"{l.get('req_method', '')} {l.get('req_path', '')} {l.get('status', '')}")])),
    log('{pod="web-1"} |= "_entry" | unpack', sel(eq("pod", "web-1"), stages=[R.line_contains("_entry"),
                                                                              R.unpack_parser()])),
    log('{pod="web-1"} |= "_entry" | unpack | logfmt | level="info"',
        sel(eq("pod", "web-1"), stages=[R.line_contains("_entry"), R.unpack_parser(), R.logfmt_parser(),
                                        R.label_str("level", "=", "info")])),
    log('{app="edge"} | regexp '
        '"^(?P<ip>\\\\S+) .* \\"(?P<method>\\\\w+) (?P<path>\\\\S+) [^\\"]*\\" (?P<status>\\\\d+)"',
        sel(eq("app", "edge"), stages=[R.regexp_parser(
            r'^(?P<ip>\S+) .* "(?P<method>\w+) (?P<path>\S+) [^"]*" (?P<status>\d+)')])),
    log('{app="edge"} |= "HTTP" | pattern "<ip> - - \\"<method> <path> <_>\\" <status> <size> <duration>"',
        sel(eq("app", "edge"), stages=[R.line_contains("HTTP"), R.pattern_parser(
            '<ip> - - "<method> <path> <_>" <status> <size> <duration>')])),
    # Lines the pattern does not fit: the capture before the missing literal takes the rest of the line.
    log('{app="edge"} | pattern "<ip> - - \\"<method> <_>"',
        sel(eq("app", "edge"), stages=[R.pattern_parser('<ip> - - "<method> <_>')])),
    log('{app="edge"} | decolorize', sel(eq("app", "edge"), stages=[R.decolorize()])),
    log('{app="edge"} | decolorize |= "ERROR upstream"',
        sel(eq("app", "edge"), stages=[R.decolorize(), R.line_contains("ERROR upstream")])),
    log('{app="edge"} | regexp "^(?P<addr>[0-9.]+) " | addr = ip("10.0.0.0/8")',
        sel(eq("app", "edge"), stages=[R.regexp_parser(r"^(?P<addr>[0-9.]+) "),
                                       R.label_ip("addr", "=", "10.0.0.0/8")])),
    log('{app="edge"} | regexp "^(?P<addr>[0-9.]+) " | addr != ip("172.16.0.0-172.31.255.255")',
        sel(eq("app", "edge"), stages=[R.regexp_parser(r"^(?P<addr>[0-9.]+) "),
                                       R.label_ip("addr", "!=", "172.16.0.0-172.31.255.255")])),
    log('{pod="api-1"} | logfmt | line_format "{{.level | upper}} {{.path | replace \\"/\\" \\"_\\"}} '
        '{{ if eq .status \\"500\\" }}boom{{ else }}ok{{ end }} {{ __line__ | trunc 10 }}"',
        sel(*API1, stages=[R.logfmt_parser(), R.line_format(_line_fmt_funcs)])),
    log('{pod="api-1"} | logfmt | label_format code=status, summary="{{.level}}:{{.path}}" | keep app, code, summary',
        sel(*API1, stages=[R.logfmt_parser(), R.label_format(code=("rename", "status"), summary=(
            "template", lambda l, line: f"{l['level']}:{l['path']}")), R.keep("app", "code", "summary")])),
    log('{pod="api-1"} | logfmt | drop latency, bytes, counter, msg, path, trace_id',
        sel(*API1, stages=[R.logfmt_parser(), R.drop("latency", "bytes", "counter", "msg", "path", "trace_id")])),
    log('{pod="api-1"} | logfmt | keep level, status | drop level="debug"',
        sel(*API1, stages=[R.logfmt_parser(), R.keep("level", "status"),
                           R.drop(matchers=[("level", "=", "debug")])])),
    log('{pod="api-1"} | logfmt | label_format lvl="{{ .level | ToUpper }}" | line_format "{{.lvl}}" | keep lvl',
        sel(*API1, stages=[R.logfmt_parser(), R.label_format(lvl=("template", _upper)),
                           R.line_format(lambda l, line: l["lvl"]), R.keep("lvl")])),
    # Metric queries over pipelines.
    *both('sum by (level) (count_over_time({app="api"} | logfmt [5m]))',
          sum_by(cot(sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN), "level")),
    *both('sum by (pod) (count_over_time({app="api"} | logfmt | level="error" or status >= 500 [5m]))',
          sum_by(cot(sel(eq("app", "api"), stages=[R.logfmt_parser(), R.label_or(
              R.label_str("level", "=", "error"), R.label_num("status", ">=", 500))]), 5 * MIN), "pod")),
    # bytes_over_time counts the line as the pipeline leaves it.
    *both('sum(bytes_over_time({pod="api-1"} | logfmt | line_format "{{.level}}" [5m]))',
          R.Agg("sum", R.Range("bytes_over_time", sel(*API1, stages=[
              R.logfmt_parser(), R.line_format(lambda l, line: l["level"])]), 5 * MIN))),
    *both('sum by (status) (rate({app="web"} | json | __error__="" [1m]))',
          sum_by(R.Range("rate", sel(eq("app", "web"), stages=[R.json_parser(), R.label_str("__error__", "=", "")]),
                         MIN), "status")),
    *both('sum by (pod) (sum_over_time({app="api"} | logfmt | keep pod, bytes | unwrap bytes(bytes) [5m]))',
          sum_by(R.Range("sum_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser(), KEEP_POD_BYTES]), 5 * MIN,
                         unwrap=_unwrap("bytes", "bytes")), "pod")),
    *both('sum by (pod) (sum_over_time({app="api"} | logfmt | keep pod, bytes | unwrap bytes | __error__="" [5m]))',
          sum_by(R.Range("sum_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser(), KEEP_POD_BYTES]), 5 * MIN,
                         unwrap=_unwrap("bytes", "", R.label_str("__error__", "=", ""))), "pod")),
    *both('avg_over_time({app="api"} | logfmt | unwrap duration(latency) [5m]) by (env)',
          R.Range("avg_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN,
                  unwrap=_unwrap("latency", "duration"), by=["env"])),
    *both('max_over_time({app="api"} | logfmt | unwrap duration_seconds(latency) [2m]) by (pod)',
          R.Range("max_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 2 * MIN,
                  unwrap=_unwrap("latency", "duration_seconds"), by=["pod"])),
    *both('min_over_time({app="api"} | logfmt | unwrap bytes(bytes) [2m]) by (pod, level)',
          R.Range("min_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 2 * MIN,
                  unwrap=_unwrap("bytes", "bytes"), by=["pod", "level"])),
    *both('stdvar_over_time({app="api"} | logfmt | unwrap counter [5m]) by (pod)',
          R.Range("stdvar_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN,
                  unwrap=_unwrap("counter"), by=["pod"])),
    *both('stddev_over_time({app="api"} | logfmt | unwrap counter [5m]) '
          'without (trace_id, level, status, path, msg, latency, bytes)',
          R.Range("stddev_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN,
                  unwrap=_unwrap("counter"),
                  without=["trace_id", "level", "status", "path", "msg", "latency", "bytes"])),
    *both('quantile_over_time(0.9, {app="api"} | logfmt | unwrap duration(latency) [5m]) by (app)',
          R.Range("quantile_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN,
                  unwrap=_unwrap("latency", "duration"), param=0.9, by=["app"])),
    *both('quantile_over_time(0.25, {app="web"} | json | __error__="" | unwrap latency_ms [3m]) by (env)',
          R.Range("quantile_over_time", sel(eq("app", "web"), stages=[R.json_parser(),
                                                                        R.label_str("__error__", "=", "")]), 3 * MIN,
                  unwrap=_unwrap("latency_ms"), param=0.25, by=["env"])),
    *both('quantile_over_time(1.5, {app="api"} | logfmt | unwrap counter [5m]) by (pod)',
          R.Range("quantile_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 5 * MIN,
                  unwrap=_unwrap("counter"), param=1.5, by=["pod"])),
    *both('first_over_time({app="api"} | logfmt | unwrap counter [2m]) by (pod)',
          R.Range("first_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 2 * MIN,
                  unwrap=_unwrap("counter"), by=["pod"])),
    *both('last_over_time({app="api"} | logfmt | unwrap counter [2m]) by (pod)',
          R.Range("last_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser()]), 2 * MIN,
                  unwrap=_unwrap("counter"), by=["pod"])),
    *both('rate({app="api"} | logfmt | unwrap bytes(bytes) [1m]) by (env)',
          R.Range("rate", sel(eq("app", "api"), stages=[R.logfmt_parser()]), MIN,
                  unwrap=_unwrap("bytes", "bytes"), by=["env"])),
    *both('rate_counter({pod="api-1"} | logfmt | unwrap counter [2m]) by (pod)',
          R.Range("rate_counter", sel(eq("pod", "api-1"), stages=[R.logfmt_parser()]), 2 * MIN,
                  unwrap=_unwrap("counter"), by=["pod"])),
    *both('sum by (app_extracted) (count_over_time({pod="web-1"} |= "shadow" | json | keep app_extracted [5m]))',
          sum_by(cot(sel(eq("pod", "web-1"), stages=[R.line_contains("shadow"), R.json_parser(),
                                                     R.keep("app_extracted")]), 5 * MIN), "app_extracted")),
    *both('sum by (method) (count_over_time({app="edge"} |= "HTTP" | pattern "<_> - - \\"<method> <_>" [5m]))',
          sum_by(cot(sel(eq("app", "edge"),
                         stages=[R.line_contains("HTTP"), R.pattern_parser('<_> - - "<method> <_>')]),
                     5 * MIN), "method")),
]


LINE_FILTER_CASES = [
    log('{app="edge"} |= ip("192.168.1.0/24")', sel(eq("app", "edge"), stages=[R.line_ip("192.168.1.0/24")])),
    log('{app="edge"} |> "<_> \\"GET <_>\\" 200 <_>"',
        sel(eq("app", "edge"), stages=[R.line_pattern('<_> "GET <_>" 200 <_>')])),
    log('{app="edge"} !> "<_> \\"GET <_>" or "<_> \\"POST <_>"',
        sel(eq("app", "edge"), stages=[R.line_not_pattern('<_> "GET <_>', '<_> "POST <_>')])),
    *both('sum(count_over_time({app="edge"} |> "<_> \\"POST <_>" [5m]))',
          R.Agg("sum", cot(sel(eq("app", "edge"), stages=[R.line_pattern('<_> "POST <_>')]), 5 * MIN))),
    *both('sum(count_over_time({app="edge"} != ip("10.0.0.0/8") [5m]))',
          R.Agg("sum", cot(sel(eq("app", "edge"), stages=[lambda ctx: not R.line_ip("10.0.0.0/8")(ctx)]), 5 * MIN))),
]


@pytest.mark.parametrize("case", [c.param() for c in LOG_CASES + METRIC_CASES + DUPLICATE_CASES])
def test_query(backend, case):
    {"log": run_log, "range": run_range, "instant": run_instant}[case.kind](backend.url, case)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.kind}:{c.query}") for c in PIPELINE_CASES])
def test_pipeline_query(backend, case):
    {"log": run_log, "range": run_range, "instant": run_instant}[case.kind](backend.url, case)


@pytest.mark.parametrize("case", [pytest.param(c, id=f"{c.kind}:{c.query}")
                                  for c in LINE_FILTER_CASES])
def test_line_filter_query(backend, case):
    {"log": run_log, "range": run_range, "instant": run_instant}[case.kind](backend.url, case)


# ---------------------------------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------------------------------

EMPTY_COMPATIBLE = ('parse error : queries require at least one regexp or equality matcher that does not have an '
                    'empty-compatible value. For instance, app=~".*" does not meet this requirement, '
                    'but app=~".+" will')

ERROR_CASES = [
    # (endpoint, query, extra params, exact body)
    ("range", '{foo="bar"} foo', {}, "parse error at line 1, col 13: syntax error: unexpected IDENTIFIER"),
    ("range", '{foo="bar"', {}, "parse error at line 1, col 11: syntax error: unexpected $end, expecting } or ,"),
    ("range", '{foo="bar"} |~', {},
     "parse error at line 1, col 15: syntax error: unexpected $end, expecting STRING or ip"),
    ("range", '{foo="bar"} "foo"', {}, "parse error at line 1, col 13: syntax error: unexpected STRING"),
    ("range", '{foo="bar}', {}, "parse error at line 1, col 6: literal not terminated"),
    ("range", '{app=~".*"}', {}, EMPTY_COMPATIBLE),
    ("range", '{}', {}, EMPTY_COMPATIBLE),
    ("instant", 'count_over_time({app=~".*"}[5m])', {}, EMPTY_COMPATIBLE),
    ("range", 'sum_over_time({app="api"}[5m])', {}, "parse error : invalid aggregation sum_over_time without unwrap"),
    ("instant", 'count_over_time({app="api"}[5m]) by (pod)', {},
     "parse error : grouping not allowed for count_over_time aggregation"),
    ("instant", 'bytes_rate({app="api"}[5m]) by (pod)', {},
     "parse error : grouping not allowed for bytes_rate aggregation"),
    ("range", 'absent_over_time({app="api"}[5m]) by (pod)', {},
     "parse error : grouping not allowed for absent_over_time aggregation"),
    ("range", 'count_over_time({app="api"}[5m])', {"start": T0 + 10 * MIN, "end": T0 + 5 * MIN},
     "end timestamp must not be before or equal to start time"),
    ("range", 'count_over_time({app="api"} | logfmt | unwrap latency [5m])', {},
     "parse error : invalid aggregation count_over_time with unwrap"),
    ("range", 'sum(count_over_time({app="api"}[5m])) + bool 1', {},
     "parse error : bool modifier can only be used on comparison operators"),
    ("range", 'topk(0, count_over_time({app="api"}[5m]))', {},
     "parse error : invalid parameter (must be greater than 0) topk(0"),
    ("range", '{app="api"} | label_format x="a",', {},
     "parse error at line 1, col 34: syntax error: unexpected $end, expecting IDENTIFIER"),
    ("instant", '{app="api"}', {},
     "log queries are not supported as an instant query type, please change your query to a range query type"),
    ("instant", '{app="api"} |= "x"', {},
     "log queries are not supported as an instant query type, please change your query to a range query type"),
    ("range", 'count_over_time({app="api"}[5m])', {"step": "0.1"},
     "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
    ("range", 'count_over_time({app="api"}[5m])', {"step": "0"},
     "zero or negative query resolution step widths are not accepted. Try a positive integer"),
]

# Stages Loki cannot build are parse errors naming the stage (logqlmodel.NewStageError).
PIPELINE_PARSE_ERROR_CASES = [
    ("range", '{app="api"} | line_format "{{ .pod"', {},
     "parse error : stage '| line_format \"{{ .pod\"' : invalid line template: template: line:1: unclosed action"),
    ("instant", 'count_over_time({app="api"} | label_format x="{{" [5m])', {},
     "parse error : stage '| label_format x=\"{{\"' : invalid template for label 'x': template: label:1: "
     "unclosed action"),
    ("range", '{app="api"} | regexp "nocapture"', {},
     "parse error : stage '| regexp \"nocapture\"' : at least one named capture must be supplied"),
]

PIPELINE_ERROR_CASES = [
    # Metric queries over lines a parser cannot read fail as a whole unless the error is filtered. (A plain `sum`
    # of a count needs no parsed label, so Loki's parser hints skip the parser and no error arises: `by (pod)`.)
    ("instant", 'sum by (pod) (count_over_time({pod="web-dev"} | json [5m]))', {},
     "pipeline error: 'JSONParserErr' for series: "),
    ("instant", 'sum(sum_over_time({app="api"} | logfmt | keep pod, bytes | unwrap bytes [30m]))', {},
     "pipeline error: 'SampleExtractionErr' for series: "),
]


def _error(url, endpoint, query, params):
    if endpoint == "instant":
        return requests.get(f"{url}/loki/api/v1/query", params={"query": query, "time": T0 + 20 * MIN, **params})
    return requests.get(f"{url}/loki/api/v1/query_range",
                        params={"query": query, "start": T0, "end": T0 + SPAN, "step": "60", **params})


@pytest.mark.parametrize("endpoint,query,params,message", [
    pytest.param(*c, id=f"{c[0]}:{c[1]}:{c[2]}") for c in ERROR_CASES])
def test_error(backend, endpoint, query, params, message):
    r = _error(backend.url, endpoint, query, params)
    assert r.status_code == 400, r.text
    assert r.text.strip() == message


_PIPELINE_ERROR_TREES = {
    'sum by (pod) (count_over_time({pod="web-dev"} | json [5m]))':
        R.Agg("sum", cot(sel(eq("pod", "web-dev"), stages=[R.json_parser()]), 5 * MIN), by=["pod"]),
    'sum(sum_over_time({app="api"} | logfmt | keep pod, bytes | unwrap bytes [30m]))':
        R.Agg("sum", R.Range("sum_over_time", sel(eq("app", "api"), stages=[R.logfmt_parser(), KEEP_POD_BYTES]),
                             30 * MIN, unwrap=_unwrap("bytes"))),
}


@pytest.mark.parametrize("query,prefix", [(c[1], c[3]) for c in PIPELINE_ERROR_CASES])
def test_reference_fails_the_pipeline_error_cases(query, prefix):
    with pytest.raises(R.QueryError, match="^" + re.escape(prefix.split(" for series")[0])):
        R.instant_query(_PIPELINE_ERROR_TREES[query], ENTRIES, T0 + 20 * MIN)


@pytest.mark.parametrize("endpoint,query,params,message", [
    pytest.param(*c, id=f"{c[0]}:{c[1]}") for c in PIPELINE_PARSE_ERROR_CASES])
def test_pipeline_parse_error(backend, endpoint, query, params, message):
    test_error(backend, endpoint, query, params, message)


@pytest.mark.parametrize("endpoint,query,params,prefix", [
    pytest.param(*c, id=f"{c[0]}:{c[1]}") for c in PIPELINE_ERROR_CASES])
def test_pipeline_error(backend, endpoint, query, params, prefix):
    r = _error(backend.url, endpoint, query, params)
    assert r.status_code == 400, r.text
    assert r.text.startswith(prefix), r.text


SERIES_LIMIT = ("maximum number of series (2) reached for a single query; consider reducing query cardinality by "
                "adding more specific stream selectors, reducing the time range, or aggregating results with "
                "functions like sum(), count() or topk()")


@pytest.fixture(scope="module")
def small_backend():
    b = Backend(limits=PLAIN_LABELS + "\n  max_query_series: 2").start()
    _push(b.url, ENTRIES)
    yield b
    b.stop()


def test_max_query_series_within_the_limit(small_backend):
    r = requests.get(f"{small_backend.url}/loki/api/v1/query",
                     params={"query": 'sum by (env) (count_over_time({env=~".+"}[5m]))', "time": T0 + 20 * MIN})
    assert r.status_code == 200, r.text
    assert len(r.json()["data"]["result"]) == 2


@pytest.mark.parametrize("endpoint", ["range", "instant"])
def test_max_query_series_exceeded(small_backend, endpoint):
    r = _error(small_backend.url, endpoint, 'count_over_time({app="api"}[5m])', {})
    assert r.status_code == 400, r.text
    assert r.text.strip() == SERIES_LIMIT
