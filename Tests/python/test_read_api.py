"""Interop: the read API calls Grafana's Loki data source and logcli make, answered as Loki does."""
import time

import requests

from conftest import Backend
from lokipush import protobuf_body

from conftest import PLAIN_LABELS as PLAIN


def test_grafana_health_check_is_a_metric_instant_query(backend):
    r = requests.get(f"{backend.url}/loki/api/v1/query", params={"query": "vector(1)+vector(1)", "time": "1700000000"})
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["resultType"] == "vector"
    assert data["result"] == [{"metric": {}, "value": [1700000000, "2"]}]


def test_format_query_prints_the_query_back(backend):
    r = requests.get(f"{backend.url}/loki/api/v1/format_query",
                     params={"query": 'sum by(level)(count_over_time({app="a"}|logfmt[5m]))'})
    assert r.status_code == 200, r.text
    assert r.json() == {"status": "success",
                        "data": 'sum by (level) (count_over_time({app="a"} | logfmt[5m]))'}
    bad = requests.get(f"{backend.url}/loki/api/v1/format_query", params={"query": "sum("})
    assert bad.status_code == 400
    assert bad.text.startswith("parse error at line 1, col 5: syntax error")


def test_detected_fields_lists_parsed_fields_and_metadata(make_backend):
    b = make_backend(limits=PLAIN).start()
    t = time.time_ns()
    lines = [(t + i, f"level={'error' if i % 2 else 'info'} latency={i}ms status={200 + i % 3}") for i in range(10)]
    lines.append((t + 20, '{"user":"alice","size":12.5}', {"trace_id": "abc"}))
    assert requests.post(f"{b.url}/loki/api/v1/push",
                         data=protobuf_body([('{app="fields"}', lines)])).status_code == 204
    r = requests.get(f"{b.url}/loki/api/v1/detected_fields", params={"query": '{app="fields"}'})
    assert r.status_code == 200, r.text
    fields = {f["label"]: f for f in r.json()["fields"]}
    assert fields["level"] == {"label": "level", "type": "string", "cardinality": 2, "parsers": ["logfmt"]}
    assert fields["latency"]["type"] == "duration" and fields["latency"]["cardinality"] == 10
    assert fields["status"]["type"] == "int" and fields["status"]["cardinality"] == 3
    assert fields["user"] == {"label": "user", "type": "string", "cardinality": 1, "parsers": ["json"]}
    assert fields["size"]["type"] == "float"
    assert fields["trace_id"]["parsers"] is None
    assert "app" not in fields
    assert r.json()["limit"] == 1000


def test_metric_query_over_the_pipeline_with_tenant_isolation(make_backend):
    b = make_backend(auth=True, limits=PLAIN).start()
    t = (time.time_ns() // 10**9 - 300) * 10**9
    lines = [(t + i * 10**9, f"level={'error' if i % 4 == 0 else 'info'} bytes={i}") for i in range(120)]
    for tenant in ("t1", "t2"):
        r = requests.post(f"{b.url}/loki/api/v1/push", data=protobuf_body([('{app="m"}', lines)]),
                          headers={"X-Scope-OrgID": tenant})
        assert r.status_code == 204, r.text
    q = 'sum by (level) (count_over_time({app="m"} | logfmt [1m]))'
    r = requests.get(f"{b.url}/loki/api/v1/query", params={"query": q, "time": t + 60 * 10**9},
                     headers={"X-Scope-OrgID": "t1"})
    assert r.status_code == 200, r.text
    got = {s["metric"]["level"]: s["value"][1] for s in r.json()["data"]["result"]}
    assert got == {"error": "15", "info": "45"}
    unwrap = 'sum(sum_over_time({app="m"} | logfmt | unwrap bytes [2m]))'
    r = requests.get(f"{b.url}/loki/api/v1/query", params={"query": unwrap, "time": t + 119 * 10**9},
                     headers={"X-Scope-OrgID": "t2"})
    assert r.status_code == 200, r.text
    assert r.json()["data"]["result"][0]["value"][1] == str(sum(range(120)))
    other = requests.get(f"{b.url}/loki/api/v1/query", params={"query": q, "time": t + 60 * 10**9},
                         headers={"X-Scope-OrgID": "t3"})
    assert other.status_code == 200 and other.json()["data"]["result"] == []
