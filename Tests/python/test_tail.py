"""Live tail (`/loki/api/v1/tail`) over a real websocket client (websocket-client, the protocol logcli and
loki-canary speak): history first, then every pushed entry once, in order, with its labels; the query's log pipeline
on both; drops reported to a slow reader; tenants apart; bad parameters refused with Loki's 400 before the upgrade."""
import base64
import json
import os
import time
import urllib.parse

import pytest
import requests
import websocket

from conftest import Backend
from lokipush import protobuf_body


# Streams keep exactly the labels pushed (conftest.PLAIN_LABELS).
@pytest.fixture
def make_backend(make_plain_backend):
    return make_plain_backend


@pytest.fixture
def backend(make_plain_backend):
    return make_plain_backend().start()


FAST_LIMITS = """  ingestion_rate_mb: 1024
  ingestion_burst_size_mb: 1024
  per_stream_rate_limit: 1GB
  per_stream_rate_limit_burst: 1GB"""


def now_ns():
    return time.time_ns()


def push(url, streams, tenant=None):
    headers = {"Content-Type": "application/x-protobuf"}
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    r = requests.post(f"{url}/loki/api/v1/push", data=protobuf_body(streams), headers=headers)
    assert r.status_code == 204, r.text


def tail_url(url, query, **params):
    qs = urllib.parse.urlencode({"query": query, **params})
    return url.replace("http://", "ws://") + "/loki/api/v1/tail?" + qs


def connect(url, query, tenant=None, headers=(), **params):
    header = list(headers)
    if tenant:
        header.append(f"X-Scope-OrgID: {tenant}")
    return websocket.create_connection(tail_url(url, query, **params), header=header, timeout=30,
                                       enable_multithread=True)


class Reader:
    """Reads tail messages into (labels, ns, line) entries and dropped entries, until a condition holds."""

    def __init__(self, ws):
        self.ws = ws
        self.entries = []
        self.dropped = []
        self.messages = []

    def read_until(self, done, deadline=30):
        end = time.monotonic() + deadline
        while not done(self):
            assert time.monotonic() < end, f"gave up waiting; have {len(self.entries)} entries"
            message = json.loads(self.ws.recv())
            self.messages.append(message)
            for stream in message["streams"]:
                for value in stream["values"]:
                    self.entries.append((tuple(sorted(stream["stream"].items())), int(value[0]), value[1]))
            self.dropped.extend(message.get("dropped_entries", []))
        return self

    def lines(self):
        return [line for _, _, line in self.entries]


def has_line(line):
    return lambda reader: line in reader.lines()


def ready(url, ws, labels, tenant=None):
    """Waits until the tail is live: a marker pushed now arrives either with the history (pushed before the tail
    subscribed) or live (after), once either way. Returns a Reader past the marker."""
    marker = f"ready {now_ns()}"
    push(url, [(labels, [(now_ns(), marker)])], tenant=tenant)
    reader = Reader(ws).read_until(has_line(marker))
    reader.entries.clear()
    reader.messages.clear()
    return reader


def test_history_then_live_entries_once_in_order_like_logcli(backend):
    t = now_ns() - 10**9
    push(backend.url, [('{job="tail", env="test"}', [(t + i, f"old {i}") for i in range(3)])])
    push(backend.url, [('{job="other"}', [(t, "not selected")])])
    ws = connect(backend.url, '{job="tail"}', start=t - 10**9, limit=2)
    try:
        reader = Reader(ws).read_until(lambda r: len(r.entries) >= 2)
        # The newest `limit` entries since start, oldest first.
        assert reader.lines() == ["old 1", "old 2"]
        t2 = now_ns()
        for i in range(5):
            push(backend.url, [('{job="tail", env="test"}', [(t2 + i, f"live {i}")])])
            push(backend.url, [('{job="other"}', [(t2 + i, f"other {i}")])])
        push(backend.url, [('{job="tail", env="test"}', [(t2 + 10, "sentinel")])])
        reader.read_until(has_line("sentinel"))
        labels = (("env", "test"), ("job", "tail"))
        assert reader.entries == [(labels, t + 1, "old 1"), (labels, t + 2, "old 2")] + \
            [(labels, t2 + i, f"live {i}") for i in range(5)] + [(labels, t2 + 10, "sentinel")]
        assert reader.dropped == []
    finally:
        ws.close()


def test_line_filters_apply_to_history_and_live(backend):
    t = now_ns() - 10**9
    push(backend.url, [('{job="f"}', [(t, "keep old"), (t + 1, "skip old")])])
    ws = connect(backend.url, '{job="f"} |= "keep"', start=t - 10**9)
    try:
        reader = Reader(ws).read_until(has_line("keep old"))
        push(backend.url, [('{job="f"}', [(now_ns(), "skip live"), (now_ns() + 1, "keep live")])])
        reader.read_until(has_line("keep live"))
        assert reader.lines() == ["keep old", "keep live"]
    finally:
        ws.close()


def test_every_entry_arrives_like_loki_canary(backend):
    """loki-canary tails {name="loki-canary",stream="stdout"} and expects each line it wrote, once."""
    ws = connect(backend.url, '{name="loki-canary",stream="stdout"}', limit=1000)
    try:
        reader = ready(backend.url, ws, '{name="loki-canary", stream="stdout", pod="canary-0"}')
        sent = []
        for i in range(100):
            ts = now_ns()
            line = f"{ts} {'p' * 64}"
            sent.append(line)
            push(backend.url, [('{name="loki-canary", stream="stdout", pod="canary-1"}', [(ts, line)]),
                               ('{name="loki-canary", stream="stderr", pod="canary-1"}', [(ts, "stderr " + line)])])
        reader.read_until(lambda r: len(r.entries) >= len(sent))
        assert reader.lines() == sent
        assert {labels for labels, _, _ in reader.entries} == {
            (("name", "loki-canary"), ("pod", "canary-1"), ("stream", "stdout"))}
        # Nothing more behind them: the next entry read is a fresh sentinel.
        push(backend.url, [('{name="loki-canary", stream="stdout", pod="canary-1"}', [(now_ns(), "sentinel")])])
        reader.read_until(has_line("sentinel"))
        assert reader.lines() == sent + ["sentinel"]
    finally:
        ws.close()


def test_structured_metadata_in_labels_or_categorized(backend):
    ws_plain = connect(backend.url, '{job="meta"}')
    ws_categorized = connect(backend.url, '{job="meta"}',
                             headers=["X-Loki-Response-Encoding-Flags: categorize-labels"])
    try:
        plain = ready(backend.url, ws_plain, '{job="meta"}')
        categorized = ready(backend.url, ws_categorized, '{job="meta"}')
        # Each tail saw the other's marker too.
        plain.read_until(lambda r: len(r.entries) == 1)
        plain.entries.clear()
        t = now_ns()
        push(backend.url, [('{job="meta"}', [(t, "with", {"trace_id": "abc"}), (t + 1, "without")])])
        plain.read_until(has_line("without"))
        assert plain.entries == [((("job", "meta"), ("trace_id", "abc")), t, "with"), ((("job", "meta"),), t + 1, "without")]
        categorized.read_until(has_line("without"))
        categorized.messages = [m for m in categorized.messages
                                if not any(v[1].startswith("ready") for st in m["streams"] for v in st["values"])]
        message = categorized.messages[-1]
        assert message["encodingFlags"] == ["categorize-labels"]
        values = [v for s in categorized.messages for stream in s["streams"] for v in stream["values"]]
        assert values == [[str(t), "with", {"structuredMetadata": {"trace_id": "abc"}}], [str(t + 1), "without", {}]]
        assert {tuple(sorted(s["stream"].items())) for m in categorized.messages for s in m["streams"]} == {(("job", "meta"),)}
    finally:
        ws_plain.close()
        ws_categorized.close()


def test_log_pipeline_drops_rewrites_and_relabels_history_and_live(backend):
    t = now_ns() - 10**9
    push(backend.url, [('{job="pipe"}', [(t, 'level=error msg="old boom"'), (t + 1, "level=info msg=old")])])
    query = '{job="pipe"} | logfmt | level="error" | line_format "{{.msg}}"'
    ws = connect(backend.url, query, start=t - 10**9)
    try:
        # The history has come, so the tail is subscribed: what is pushed from now on arrives live.
        reader = Reader(ws).read_until(has_line("old boom"))
        t2 = now_ns()
        push(backend.url, [('{job="pipe"}', [(t2, "level=info msg=quiet"), (t2 + 1, "level=error msg=boom code=500"),
                                             (t2 + 2, "plain text"), (t2 + 3, "level=error msg=sentinel")])])
        push(backend.url, [('{job="other"}', [(t2, "level=error msg=elsewhere")])])
        reader.read_until(has_line("sentinel"))
        stream = (("job", "pipe"), ("level", "error"))
        assert reader.entries == [
            (stream + (("msg", "old boom"),), t, "old boom"),
            ((("code", "500"),) + stream + (("msg", "boom"),), t2 + 1, "boom"),
            (stream + (("msg", "sentinel"),), t2 + 3, "sentinel"),
        ]
        # One pushed stream, two label sets: two streams in the message, as Loki's tailer groups them.
        live = [m for m in reader.messages if any(v[1] == "boom" for s in m["streams"] for v in s["values"])]
        assert [s["stream"]["msg"] for s in live[0]["streams"]] == ["boom", "sentinel"]
    finally:
        ws.close()


def test_json_pipeline_with_categorized_labels(backend):
    t = now_ns() - 10**9
    line = '{"level":"warn","job":"x","empty":""}'
    push(backend.url, [('{job="cat"}', [(t, line, {"trace_id": "old"})])])
    ws = connect(backend.url, '{job="cat"} | json', start=t - 10**9,
                 headers=["X-Loki-Response-Encoding-Flags: categorize-labels"])
    try:
        reader = Reader(ws).read_until(has_line(line))
        parsed = {"job_extracted": "x", "level": "warn"}
        assert reader.messages[-1] == {
            "streams": [{"stream": {"job": "cat"},
                         "values": [[str(t), line, {"structuredMetadata": {"trace_id": "old"}, "parsed": parsed}]]}],
            "encodingFlags": ["categorize-labels"]}
        reader.messages.clear()
        t2 = now_ns()
        push(backend.url, [('{job="cat"}', [(t2, line, {"trace_id": "new"}), (t2 + 1, "not json")])])
        reader.read_until(has_line("not json"))
        values = [v for m in reader.messages for s in m["streams"] for v in s["values"]]
        assert values[0] == [str(t2), line, {"structuredMetadata": {"trace_id": "new"}, "parsed": parsed}]
        assert values[1][:2] == [str(t2 + 1), "not json"]
        assert values[1][2]["parsed"]["__error__"] == "JSONParserErr"
        assert "structuredMetadata" not in values[1][2]
        assert {tuple(sorted(s["stream"].items())) for m in reader.messages for s in m["streams"]} == {(("job", "cat"),)}
    finally:
        ws.close()


def test_slow_reader_gets_dropped_entries(make_backend):
    b = make_backend(limits=FAST_LIMITS).start()
    ws = connect(b.url, '{job="slow"}')
    try:
        ready(b.url, ws, '{job="slow"}')
        # Far more than the tail's buffer (1,000 entries) and the socket buffers hold, while nobody reads.
        t = now_ns()
        line = "x" * 8192
        total = 0
        pushed = set()
        for batch in range(40):
            entries = [(t + total + i, f"{total + i:06d} {line}") for i in range(100)]
            push(b.url, [('{job="slow"}', entries)])
            pushed.update(ts for ts, _ in entries)
            total += len(entries)
        # A sentinel pushed while the buffer is full is dropped too: push one before each read until one arrives.
        reader = Reader(ws)
        for k in range(10_000):
            push(b.url, [('{job="slow"}', [(t + total + k, f"sentinel {k}")])])
            before = len(reader.messages)
            reader.read_until(lambda r: len(r.messages) > before)
            if any(line.startswith("sentinel") for line in reader.lines()):
                break
        received = [ts for _, ts, line in reader.entries if not line.startswith("sentinel")]
        assert reader.dropped, "a reader that stalls must be told what it missed"
        assert 0 < len(received) < total
        assert received == sorted(received) and len(set(received)) == len(received)
        assert set(received) <= pushed
        dropped = [int(d["timestamp"]) for d in reader.dropped]
        pushed.update(t + total + i for i in range(k + 1))  # sentinels may be dropped too
        assert set(dropped) <= pushed and not set(dropped) & set(received)
        assert all(d["labels"] == {"job": "slow"} for d in reader.dropped)
        assert len(received) + len(dropped) <= total
        metrics = requests.get(f"{b.url}/metrics").text
        assert "loki_querier_tail_active 1.0\n" in metrics
        counted = [float(l.split()[1]) for l in metrics.splitlines() if l.startswith("estuary_tail_dropped_entries_total ")]
        assert counted and counted[0] >= len(dropped)
    finally:
        ws.close()


def test_tenants_do_not_see_each_other(make_backend):
    b = make_backend(auth=True).start()
    ws = connect(b.url, '{job="t"}', tenant="team-a")
    try:
        reader = ready(b.url, ws, '{job="t"}', tenant="team-a")
        t = now_ns()
        push(b.url, [('{job="t"}', [(t, "for b")])], tenant="team-b")
        push(b.url, [('{job="t"}', [(t + 1, "for a")])], tenant="team-a")
        reader.read_until(has_line("for a"))
        assert reader.lines() == ["for a"]
    finally:
        ws.close()


def handshake(url, query, tenant=None, **params):
    """A websocket handshake by hand, to see the HTTP answer to a refused upgrade."""
    headers = {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
               "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}
    if tenant:
        headers["X-Scope-OrgID"] = tenant
    return requests.get(f"{url}/loki/api/v1/tail", params={"query": query, **params}, headers=headers)


@pytest.mark.parametrize("params,message", [
    ({"delay_for": "6"}, "delay_for can't be greater than 5"),
    ({"delay_for": "-1"}, "delay_for can't be greater than 5"),
    ({"delay_for": "x"}, 'strconv.Atoi: parsing "x": invalid syntax'),
    ({"limit": "0"}, "limit must be a positive value"),
    ({"limit": "5001"}, "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)"),
    ({"start": "yesterday"}, 'invalid start parameter: cannot parse "yesterday" to a valid timestamp'),
])
def test_bad_parameters_are_refused_before_the_upgrade(backend, params, message):
    r = handshake(backend.url, '{job="x"}', **params)
    assert r.status_code == 400
    assert r.text.strip() == message


@pytest.mark.parametrize("query,message", [
    ('count_over_time({job="x"}[1m])', "only log selector is supported"),
    ('sum(rate({job="x"} | json [5m]))', "only log selector is supported"),
    ('{job="x"} | regexp "x"', "at least one named capture must be supplied"),
])
def test_metric_queries_and_bad_stages_are_refused_before_the_upgrade(backend, query, message):
    r = handshake(backend.url, query)
    assert r.status_code == 400
    assert message in r.text


def test_bad_query_and_missing_tenant_are_refused_before_the_upgrade(make_backend):
    b = make_backend(auth=True).start()
    r = handshake(b.url, '{job="x"')
    assert r.status_code == 401 and r.text.strip() == "no org id"
    r = handshake(b.url, '{job="x"', tenant="t")
    assert r.status_code == 400 and r.text.startswith("parse error")
    # A valid request that is not a websocket handshake: the websocket library's 400.
    r = requests.get(f"{b.url}/loki/api/v1/tail", params={"query": '{job="x"}'}, headers={"X-Scope-OrgID": "t"})
    assert r.status_code == 400 and r.text.strip() == "Bad Request"


def test_concurrent_tail_limit_closes_with_lokis_message(make_backend):
    b = make_backend(limits="  max_concurrent_tail_requests: 2").start()
    open_tails = []
    for i in range(2):
        open_tails.append(connect(b.url, '{job="c"}'))
        ready(b.url, open_tails[-1], f'{{job="c", n="{i}"}}')
    third = connect(b.url, '{job="c"}')
    try:
        while True:
            opcode, data = third.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        assert int.from_bytes(data[:2], "big") == 1011
        assert data[2:].decode() == \
            "rpc error: code = Code(400) desc = max concurrent tail requests limit exceeded, count > limit (3 > 2)"
        # The two open ones still work.
        push(b.url, [('{job="c"}', [(now_ns(), "hello")])])
        for ws in open_tails:
            assert Reader(ws).read_until(has_line("hello")).lines()[-1] == "hello"
    finally:
        third.close()
        for ws in open_tails:
            ws.close()
