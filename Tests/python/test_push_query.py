"""Interop: real Python clients push in every encoding; queries return exactly what was pushed."""
import time

import requests

from conftest import Backend
from lokipush import json_body, protobuf_body


def now_ns():
    return time.time_ns()


def query(url, q, tenant=None, **params):
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    params = {"query": q, "limit": 1000, "direction": "forward", "start": now_ns() - 3600 * 10**9,
              "end": now_ns() + 60 * 10**9, **params}
    r = requests.get(f"{url}/loki/api/v1/query_range", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


# What the backend adds to every push, as Loki 3 does (discover_service_name, discover_log_levels): checked by
# test_service_name_and_detected_level_are_discovered; left out of the round-trip comparisons.
DISCOVERED = {"service_name", "detected_level"}


def entries_of(result, keep_discovered=False):
    """{labels-tuple: [(ns, line)]} from a streams result."""
    out = {}
    for s in result["data"]["result"]:
        key = tuple(sorted((k, v) for k, v in s["stream"].items() if keep_discovered or k not in DISCOVERED))
        out.setdefault(key, []).extend((int(ts), line) for ts, line in s["values"])
    return out


def test_protobuf_snappy_push_round_trip(backend):
    t = now_ns()
    lines = [(t + i, f"level=info msg=\"hello {i}\" ünïcødé ✓") for i in range(50)]
    r = requests.post(f"{backend.url}/loki/api/v1/push", data=protobuf_body([('{job="py", env="test"}', lines)]),
                      headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text
    got = entries_of(query(backend.url, '{job="py"}'))
    assert got == {(("env", "test"), ("job", "py")): lines}


def test_json_push_in_every_content_encoding(backend):
    t = now_ns()
    for i, encoding in enumerate([None, "gzip", "deflate"]):
        lines = [(t + i * 1000 + k, f'json {encoding} line {k} "quoted" \\ tab\t') for k in range(10)]
        body, headers = json_body([({"job": "json", "enc": str(encoding)}, lines)], encoding=encoding)
        r = requests.post(f"{backend.url}/loki/api/v1/push", data=body, headers=headers)
        assert r.status_code == 204, r.text
        got = entries_of(query(backend.url, f'{{job="json", enc="{encoding}"}}'))
        assert got == {(("enc", str(encoding)), ("job", "json")): lines}


def test_structured_metadata_is_returned_with_the_entry(backend):
    t = now_ns()
    body = protobuf_body([('{job="meta"}', [(t, "with metadata", {"trace_id": "abc123"}), (t + 1, "plain")])])
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=body).status_code == 204
    got = entries_of(query(backend.url, '{job="meta"}'))
    assert got == {(("job", "meta"), ("trace_id", "abc123")): [(t, "with metadata")],
                   (("job", "meta"),): [(t + 1, "plain")]}


def test_line_filters_and_direction_and_limit(backend):
    t = now_ns()
    lines = [(t + i, f"line {i} {'needle' if i % 3 == 0 else 'hay'}") for i in range(30)]
    assert requests.post(f"{backend.url}/loki/api/v1/push",
                         data=protobuf_body([('{job="filter"}', lines)])).status_code == 204
    got = entries_of(query(backend.url, '{job="filter"} |= "needle" != "line 9 "'))
    assert got[(("job", "filter"),)] == [l for l in lines if "needle" in l[1] and "line 9 " not in l[1]]
    newest = query(backend.url, '{job="filter"} |~ "ne+dle"', direction="backward", limit=2)
    assert [int(v[0]) for v in newest["data"]["result"][0]["values"]] == [t + 27, t + 24]
    stats = newest["data"]["stats"]["summary"]
    assert stats["totalEntriesReturned"] == 2


def test_one_request_mixing_valid_and_invalid_entries(backend):
    t = now_ns()
    body = protobuf_body([
        ('{job="mixed"}', [(t, "good one"), (t - 30 * 24 * 3600 * 10**9, "too old"), (t + 1, "good two")]),
        ('{job="mixed", 0bad="x"}', [(t, "bad labels")]),
        ('{job="mixed"}', [(t + 2, "x" * (300 * 1024))]),
    ])
    r = requests.post(f"{backend.url}/loki/api/v1/push", data=body)
    assert r.status_code == 400
    assert "timestamp too old" in r.text
    assert "Error parsing labels" in r.text
    assert "Max entry size" in r.text
    got = entries_of(query(backend.url, '{job="mixed"}'))
    assert got == {(("job", "mixed"),): [(t, "good one"), (t + 1, "good two")]}
    metrics = requests.get(f"{backend.url}/metrics").text
    assert 'loki_discarded_samples_total{reason="greater_than_max_sample_age",tenant="fake"} 1' in metrics
    assert 'loki_discarded_samples_total{reason="line_too_long",tenant="fake"} 1' in metrics


def test_malformed_bodies_are_400_and_harm_nothing(backend):
    t = now_ns()
    assert requests.post(f"{backend.url}/loki/api/v1/push",
                         data=protobuf_body([('{job="keep"}', [(t, "kept")])])).status_code == 204
    good = protobuf_body([('{job="keep"}', [(t + 1, "x")])])
    for body, headers, word in [
        (b"\x40\x0f garbage, not snappy", {}, "snappy"),
        (bytes(__import__("cramjam").snappy.compress_raw(b"\x0a\x50\x0a")), {}, "proto"),
        (b'{"streams": [', {"Content-Type": "application/json"}, "json"),
        (b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, "gzip"),
    ]:
        r = requests.post(f"{backend.url}/loki/api/v1/push", data=body, headers=headers)
        assert r.status_code == 400, (body, r.text)
        assert word in r.text.lower(), r.text
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=good).status_code == 204
    got = entries_of(query(backend.url, '{job="keep"}'))
    assert got == {(("job", "keep"),): [(t, "kept"), (t + 1, "x")]}


def test_service_name_and_detected_level_are_discovered(make_backend):
    b = make_backend().start()
    t = now_ns()
    body = protobuf_body([('{app="shop", env="prod"}', [(t, '{"level":"WARNING","msg":"low stock"}'),
                                                        (t + 1, "ts=1 lvl=err msg=boom"), (t + 2, "hello")]),
                          ('{team="x"}', [(t, "[DEBUG] starting", {"detected_level": "INFO"})])])
    assert requests.post(f"{b.url}/loki/api/v1/push", data=body).status_code == 204
    got = entries_of(query(b.url, '{service_name="shop"}'), keep_discovered=True)
    shop = lambda level: tuple(sorted({"app": "shop", "env": "prod", "service_name": "shop",
                                       "detected_level": level}.items()))
    assert got == {shop("warn"): [(t, '{"level":"WARNING","msg":"low stock"}')],
                   shop("error"): [(t + 1, "ts=1 lvl=err msg=boom")],
                   shop("unknown"): [(t + 2, "hello")]}
    # No label from the list: unknown_service; a detected_level sent along is kept, only normalised.
    got = entries_of(query(b.url, '{team="x"}'), keep_discovered=True)
    assert got == {(("detected_level", "info"), ("service_name", "unknown_service"), ("team", "x")):
                   [(t, "[DEBUG] starting")]}
    # Both can be turned off per tenant.
    off = make_backend(limits="  discover_service_name: []\n  discover_log_levels: false\n").start()
    assert requests.post(f"{off.url}/loki/api/v1/push", data=body).status_code == 204
    assert entries_of(query(off.url, '{app="shop"}'), keep_discovered=True) == {
        (("app", "shop"), ("env", "prod")): [(t, '{"level":"WARNING","msg":"low stock"}'),
                                             (t + 1, "ts=1 lvl=err msg=boom"), (t + 2, "hello")]}


def test_logql_syntax_error_uses_lokis_wording(backend):
    r = requests.get(f"{backend.url}/loki/api/v1/query_range", params={"query": '{job="x"'})
    assert r.status_code == 400
    assert r.text.startswith("parse error at line 1, col ")


def test_labels_values_and_series(backend):
    t = now_ns()
    body = protobuf_body([('{job="a", env="prod"}', [(t, "1")]), ('{job="b", env="dev"}', [(t, "2")])])
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=body).status_code == 204
    names = requests.get(f"{backend.url}/loki/api/v1/labels").json()
    assert names == {"status": "success", "data": ["env", "job", "service_name"]}
    values = requests.get(f"{backend.url}/loki/api/v1/label/env/values").json()
    assert values["data"] == ["dev", "prod"]
    series = requests.get(f"{backend.url}/loki/api/v1/series", params={"match[]": '{env="prod"}'}).json()
    assert series["data"] == [{"env": "prod", "job": "a", "service_name": "a"}]
    # `query` narrows label names to the streams it selects.
    body = protobuf_body([('{job="c", team="x"}', [(t, "3")])])
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=body).status_code == 204
    narrowed = requests.get(f"{backend.url}/loki/api/v1/labels", params={"query": '{job="c"}'}).json()
    assert narrowed["data"] == ["job", "service_name", "team"]


def test_tenants_are_walls(make_backend):
    b = make_backend(auth=True).start()
    t = now_ns()
    push = lambda tenant, labels, line: requests.post(
        f"{b.url}/loki/api/v1/push", data=protobuf_body([(labels, [(t, line)])]),
        headers={"X-Scope-OrgID": tenant} if tenant else {})
    assert push(None, '{job="x"}', "no tenant").status_code == 401
    assert push(None, '{job="x"}', "no tenant").text.strip() == "no org id"
    assert push("team-a", '{job="a-only"}', "secret of a").status_code == 204
    assert push("team-b", '{job="b-only"}', "secret of b").status_code == 204
    a = entries_of(query(b.url, '{job=~".+"}', tenant="team-a"))
    assert a == {(("job", "a-only"),): [(t, "secret of a")]}
    for path in ["/loki/api/v1/labels", "/loki/api/v1/label/job/values"]:
        r = requests.get(b.url + path, headers={"X-Scope-OrgID": "team-b"}).json()
        assert "a-only" not in str(r)
    s = requests.get(f"{b.url}/loki/api/v1/series", params={"match[]": '{job=~".+"}'},
                     headers={"X-Scope-OrgID": "team-b"}).json()
    assert s["data"] == [{"job": "b-only", "service_name": "b-only"}]


def test_rate_limits_answer_429_and_are_counted(make_backend):
    b = make_backend(limits="  ingestion_rate_mb: 0.001\n  ingestion_burst_size_mb: 0.001\n").start()
    t = now_ns()
    body = protobuf_body([('{job="flood"}', [(t + i, "x" * 1000) for i in range(10)])])
    r = requests.post(f"{b.url}/loki/api/v1/push", data=body)
    assert r.status_code == 429
    assert "Ingestion rate limit exceeded" in r.text
    metrics = requests.get(f"{b.url}/metrics").text
    assert 'loki_discarded_samples_total{reason="rate_limited",tenant="fake"} 10' in metrics


def test_stream_limit_answers_429(make_backend):
    b = make_backend(limits="  max_global_streams_per_user: 2\n").start()
    t = now_ns()
    statuses = [requests.post(f"{b.url}/loki/api/v1/push",
                              data=protobuf_body([(f'{{job="s{i}"}}', [(t, "x")])])).status_code for i in range(3)]
    assert statuses == [204, 204, 429]
    assert 'reason="stream_limit"' in requests.get(f"{b.url}/metrics").text


def test_sigterm_then_restart_returns_every_acknowledged_entry(make_backend):
    b = make_backend().start()
    t = now_ns()
    sent = []
    for batch in range(20):
        lines = [(t + batch * 100 + i, f"batch {batch} line {i}") for i in range(100)]
        assert requests.post(f"{b.url}/loki/api/v1/push",
                             data=protobuf_body([('{job="durable"}', lines)])).status_code == 204
        sent.extend(lines)
    assert b.stop() == 0
    b.start()
    got = entries_of(query(b.url, '{job="durable"}', limit=5000))
    assert got == {(("job", "durable"),): sent}


def test_body_over_the_limit_is_413_and_counted(make_backend):
    b = make_backend(server="  grpc_server_max_recv_msg_size: 2000\n").start()
    t = now_ns()
    big = protobuf_body([('{job="big"}', [(t + i, f"{i} " + "y" * 200) for i in range(50)])])
    assert len(big) < 2000 < len(__import__("cramjam").snappy.decompress_raw(big))
    r = requests.post(f"{b.url}/loki/api/v1/push", data=big)
    assert r.status_code == 413, r.text
    r = requests.post(f"{b.url}/loki/api/v1/push", data=b"z" * 3000)
    assert r.status_code == 413, r.text
    assert "request body too large" in r.text
    ok = protobuf_body([('{job="big"}', [(t, "small")])])
    assert requests.post(f"{b.url}/loki/api/v1/push", data=ok).status_code == 204
    assert 'loki_discarded_bytes_total{reason="request_body_too_large",tenant="fake"}' in \
        requests.get(f"{b.url}/metrics").text


def test_per_stream_rate_limit_answers_429(make_backend):
    b = make_backend(limits="  per_stream_rate_limit: 1KB\n  per_stream_rate_limit_burst: 2KB\n").start()
    t = now_ns()
    first = protobuf_body([('{job="hot"}', [(t + i, "z" * 100) for i in range(10)])])
    assert requests.post(f"{b.url}/loki/api/v1/push", data=first).status_code == 204
    r = requests.post(f"{b.url}/loki/api/v1/push", data=protobuf_body([('{job="hot"}', [(t + 100, "z" * 2000)])]))
    assert r.status_code == 429
    assert "Per stream rate limit exceeded" in r.text
    other = protobuf_body([('{job="cold"}', [(t, "fine")])])
    assert requests.post(f"{b.url}/loki/api/v1/push", data=other).status_code == 204
    assert 'reason="per_stream_rate_limit"' in requests.get(f"{b.url}/metrics").text


def test_a_range_with_start_equal_to_end_is_empty_and_end_before_start_is_400(backend):
    # Loki reads [start, end): start == end selects nothing (200, no streams); end < start is refused.
    t = now_ns()
    body = protobuf_body([('{job="edge"}', [(t, "at t")])])
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=body).status_code == 204
    same = requests.get(f"{backend.url}/loki/api/v1/query_range",
                        params={"query": '{job="edge"}', "start": t, "end": t})
    assert same.status_code == 200, same.text
    assert same.json()["data"]["result"] == []
    after = requests.get(f"{backend.url}/loki/api/v1/query_range",
                         params={"query": '{job="edge"}', "start": t, "end": t + 1})
    assert [v[1] for s in after.json()["data"]["result"] for v in s["values"]] == ["at t"]
    before = requests.get(f"{backend.url}/loki/api/v1/query_range",
                          params={"query": '{job="edge"}', "start": t, "end": t - 1})
    assert before.status_code == 400
    assert before.text == "end timestamp must not be before or equal to start time\n"


def test_label_and_series_selectors_take_matchers_only(backend):
    # Loki parses these with syntax.ParseMatchers: anything but a selector is 400 "only label matchers are supported".
    for path, params in [("/loki/api/v1/series", {"match[]": '{job="a"} |= "x"'}),
                         ("/loki/api/v1/labels", {"query": '{job="a"} |= "x"'}),
                         ("/loki/api/v1/label/job/values", {"query": '{job="a"} |= "x"'}),
                         ("/loki/api/v1/series", {"match[]": '{job="a"} | json'}),
                         ("/loki/api/v1/labels", {"query": 'count_over_time({job="a"}[1m])'})]:
        r = requests.get(f"{backend.url}{path}", params=params)
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert r.text == "only label matchers are supported\n", (path, r.text)


def test_metric_queries_run_as_shards_and_log_queries_split_by_interval(make_plain_backend):
    # One byte per shard: every shardable query runs as max_query_parallelism shards.
    b = make_plain_backend(limits="  tsdb_max_bytes_per_shard: 1\n  max_query_parallelism: 4\n"
                                  "  split_queries_by_interval: 10m").start()
    t = (now_ns() // 10**9 - 1800) * 10**9
    levels = ["info", "warn", "error"]
    streams = [(f'{{job="shard", pod="p{p}"}}', [(t + (p * 37 + i * 61) * 10**9, f"level={levels[(p + i) % 3]} i={i}")
                                                 for i in range(25)]) for p in range(8)]
    assert requests.post(f"{b.url}/loki/api/v1/push", data=protobuf_body(streams)).status_code == 204
    start, end = t, t + 1800 * 10**9
    body = query(b.url, 'sum by (level) (count_over_time({job="shard"} | logfmt [30m]))',
                 start=start, end=end, step="30m", direction="backward")
    assert body["data"]["stats"]["summary"]["shards"] == 4
    want = {}
    for _, lines in streams:
        for ts, line in lines:
            if start < ts <= end:
                level = line.split()[0].split("=")[1]
                want[level] = want.get(level, 0) + 1
    got = {s["metric"]["level"]: int(s["values"][-1][1]) for s in body["data"]["result"]}
    assert got == want
    # topk is not shardable: it runs whole.
    body = query(b.url, 'topk(2, count_over_time({job="shard"}[30m]))', start=start, end=end, step="30m")
    assert body["data"]["stats"]["summary"]["shards"] == 0

    # A log query over 30 minutes reads 10-minute pieces, newest first, until the limit is reached.
    every = sorted((ts, line) for _, lines in streams for ts, line in lines)
    newest = query(b.url, '{job="shard"}', start=start, end=end, limit=7, direction="backward")
    got = sorted((int(ts), line) for s in newest["data"]["result"] for ts, line in s["values"])
    assert got == [e for e in every if start <= e[0] < end][-7:]
    assert newest["data"]["stats"]["summary"]["splits"] >= 1
    oldest = query(b.url, '{job="shard"}', start=start, end=end, limit=500, direction="forward")
    got = sorted((int(ts), line) for s in oldest["data"]["result"] for ts, line in s["values"])
    assert got == [e for e in every if start <= e[0] < end]
    assert oldest["data"]["stats"]["summary"]["splits"] >= 3
