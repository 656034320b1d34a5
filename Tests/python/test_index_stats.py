"""Loki's index endpoints with exact figures: `index/stats`, `index/volume`, `index/volume_range`,
`detected_labels`, and the empty `patterns`. Known data is pushed; the numbers are asserted before and after a
flush (from the ingester's memory, then from the index), which must agree."""
import time

import pytest
import requests

from lokipush import protobuf_body


# Streams keep exactly the labels pushed (conftest.PLAIN_LABELS).
@pytest.fixture
def make_backend(make_plain_backend):
    return make_plain_backend


@pytest.fixture
def backend(make_plain_backend):
    return make_plain_backend().start()


MINUTE = 60 * 10**9


def get(url, path, tenant=None, **params):
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    return requests.get(f"{url}{path}", params=params, headers=headers)


@pytest.fixture
def loaded(make_backend):
    """Three streams at known times, two minutes apart, 20 minutes ago; returns (url, base seconds, figures)."""
    backend = make_backend().start()
    base = (time.time_ns() // MINUTE - 20) * MINUTE
    streams = [
        ('{app="api", env="prod"}', [(base + i, "a" * 10) for i in range(3)]),                 # 30 bytes
        ('{app="api", env="dev"}', [(base + MINUTE + i, "b" * 7) for i in range(2)]),         # 14 bytes
        ('{app="web", env="prod", pod="12345"}', [(base + 2 * MINUTE, "c" * 5, {"k": "vv"})]),  # 5 + 3 bytes
    ]
    r = requests.post(f"{backend.url}/loki/api/v1/push", data=protobuf_body(streams),
                      headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, r.text
    return backend.url, base // 10**9


def window(base):
    return {"start": base - 60, "end": base + 600}


@pytest.mark.parametrize("flushed", [False, True])
def test_index_stats_counts_streams_chunks_bytes_entries(loaded, flushed):
    url, base = loaded
    if flushed:
        assert requests.post(f"{url}/flush").status_code == 204
    r = get(url, "/loki/api/v1/index/stats", query='{app=~".+"}', **window(base))
    assert r.status_code == 200, r.text
    assert r.json() == {"streams": 3, "chunks": 3, "bytes": 30 + 14 + 8, "entries": 6}
    r = get(url, "/loki/api/v1/index/stats", query='{app="api"}', **window(base))
    assert r.json() == {"streams": 2, "chunks": 2, "bytes": 44, "entries": 5}
    r = get(url, "/loki/api/v1/index/stats", query='{app="none"}', **window(base))
    assert r.json() == {"streams": 0, "chunks": 0, "bytes": 0, "entries": 0}


def test_index_stats_refuses_pipelines(loaded):
    url, base = loaded
    r = get(url, "/loki/api/v1/index/stats", query='{app="api"} |= "x"', **window(base))
    assert r.status_code == 400 and r.text.strip() == "only label matchers are supported"


@pytest.mark.parametrize("flushed", [False, True])
def test_volume_by_series_sorted_largest_first(loaded, flushed):
    url, base = loaded
    if flushed:
        assert requests.post(f"{url}/flush").status_code == 204
    r = get(url, "/loki/api/v1/index/volume", query='{app=~".+"}', **window(base))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success" and body["data"]["resultType"] == "vector"
    end = base + 600
    assert [(s["metric"], s["value"]) for s in body["data"]["result"]] == [
        ({"app": "api"}, [end, "44"]), ({"app": "web"}, [end, "8"])]
    assert "summary" in body["data"]["stats"]


def test_volume_target_labels_aggregate_by_labels_and_limit(loaded):
    url, base = loaded
    end = base + 600
    r = get(url, "/loki/api/v1/index/volume", query='{app=~".+"}', targetLabels="env", **window(base))
    assert [(s["metric"], s["value"][1]) for s in r.json()["data"]["result"]] == [
        ({"env": "prod"}, "38"), ({"env": "dev"}, "14")]
    r = get(url, "/loki/api/v1/index/volume", query="{}", aggregateBy="labels", **window(base))
    assert [(s["metric"], s["value"]) for s in r.json()["data"]["result"]] == [
        ({"app": ""}, [end, "52"]), ({"env": ""}, [end, "52"]), ({"pod": ""}, [end, "8"])]
    r = get(url, "/loki/api/v1/index/volume", query="{}", limit=1, **window(base))
    assert [(s["metric"], s["value"][1]) for s in r.json()["data"]["result"]] == [
        ({"app": "api", "env": "prod"}, "30")]
    r = get(url, "/loki/api/v1/index/volume", query="{}", aggregateBy="streams", **window(base))
    assert r.status_code == 400 and r.text.strip() == "invalid aggregation option"


def test_volume_range_buckets_by_step(loaded):
    url, base = loaded
    # Buckets end at base+59.999, base+119.999, base+179.999 (Loki's inclusive ends), then base+240.
    r = get(url, "/loki/api/v1/index/volume_range", query='{app="api"}', start=base, end=base + 240, step="60s")
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    assert data["resultType"] == "matrix"
    assert [(s["metric"], [[round(t, 3), v] for t, v in s["values"]]) for s in data["result"]] == [
        ({"app": "api"}, [[round(base + 59.999, 3), "30"], [round(base + 119.999, 3), "14"]])]


def test_detected_labels_leave_out_id_labels(loaded):
    url, base = loaded
    r = get(url, "/loki/api/v1/detected_labels", **window(base))
    assert r.status_code == 200, r.text
    # `pod` holds only a number, but it is one of Loki's static labels (cluster, namespace, instance, pod): kept.
    assert r.json() == {"detectedLabels": [{"label": "app", "cardinality": 2}, {"label": "env", "cardinality": 2},
                                           {"label": "pod", "cardinality": 1}]}
    r = get(url, "/loki/api/v1/detected_labels", query='{app="api"}', **window(base))
    assert r.json() == {"detectedLabels": [{"label": "app", "cardinality": 1}, {"label": "env", "cardinality": 2}]}


def test_detected_labels_drop_non_static_id_labels(backend):
    t = time.time_ns()
    streams = [('{app="x", request_id="123"}', [(t, "a")]), ('{app="x", request_id="4567"}', [(t + 1, "b")]),
               ('{app="y", request_id="8e6fd0d8-1bb5-4f0a-9c41-9b5d4a2f0c11"}', [(t + 2, "c")])]
    assert requests.post(f"{backend.url}/loki/api/v1/push", data=protobuf_body(streams)).status_code == 204
    r = get(backend.url, "/loki/api/v1/detected_labels")
    assert r.json() == {"detectedLabels": [{"label": "app", "cardinality": 2}]}


def test_patterns_answer_empty(backend):
    r = get(backend.url, "/loki/api/v1/patterns", query='{app="x"}')
    assert r.status_code == 200 and r.json() == {"status": "success", "data": []}
