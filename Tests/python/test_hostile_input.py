"""Requests that used to crash or freeze the backend: numbers at the edges of 64 bits in pushes and query
parameters, and hostile time windows. Each gets a 4xx with a reason; the process stays up and keeps what it had."""
import time

import requests

from lokipush import json_body, protobuf_body

INT64_MIN = -(2 ** 63)
INT64_MAX = 2 ** 63 - 1
EDGE_TIMESTAMPS = [INT64_MIN, INT64_MIN + 1, -1, 0, INT64_MAX - 1, INT64_MAX]


def alive(b):
    assert b.proc.poll() is None, "the backend exited"
    assert requests.get(f"{b.url}/ready", timeout=10).status_code == 200


def push_good(b):
    t = time.time_ns()
    body = protobuf_body([('{job="kept"}', [(t, "acknowledged before the attack")])])
    assert requests.post(f"{b.url}/loki/api/v1/push", data=body,
                         headers={"Content-Type": "application/x-protobuf"}).status_code == 204
    return t


def still_readable(b, t):
    r = requests.get(f"{b.url}/loki/api/v1/query_range", params={
        "query": '{job="kept"}', "start": t - 10**9, "end": t + 10**9}, timeout=30)
    assert r.status_code == 200, r.text
    values = [v for s in r.json()["data"]["result"] for v in s["values"]]
    assert values == [[str(t), "acknowledged before the attack"]]


def test_push_timestamps_at_the_int64_edges_are_refused_with_a_reason(backend):
    t = push_good(backend)
    for ts in EDGE_TIMESTAMPS:
        body, headers = json_body([({"job": "edge"}, [(ts, "json edge")])])
        r = requests.post(f"{backend.url}/loki/api/v1/push", data=body, headers=headers, timeout=10)
        assert r.status_code == 400, (ts, r.status_code, r.text)
        assert "timestamp too old" in r.text or "timestamp too new" in r.text, r.text
        r = requests.post(f"{backend.url}/loki/api/v1/push", data=protobuf_body([('{job="edge"}', [(ts, "pb edge")])]),
                          headers={"Content-Type": "application/x-protobuf"}, timeout=10)
        assert r.status_code == 400, (ts, r.status_code, r.text)
    metrics = requests.get(f"{backend.url}/metrics").text
    assert 'loki_discarded_samples_total{reason="greater_than_max_sample_age",tenant="fake"}' in metrics
    alive(backend)
    still_readable(backend, t)


def test_edge_timestamps_accepted_without_the_age_check_are_stored_and_flushed(make_backend):
    b = make_backend(limits="  reject_old_samples: false\n  max_query_length: 0").start()
    t = push_good(b)
    for ts in [INT64_MIN, INT64_MIN + 1, -1, 0]:
        body, headers = json_body([({"job": "ancient"}, [(ts, f"at {ts}")])])
        r = requests.post(f"{b.url}/loki/api/v1/push", data=body, headers=headers, timeout=10)
        assert r.status_code in (204, 400), r.text
    assert requests.post(f"{b.url}/flush", timeout=60).status_code == 204
    # The whole 64-bit window: answered, not wrapped around.
    r = requests.get(f"{b.url}/loki/api/v1/query_range", params={
        "query": '{job="ancient"}', "start": str(INT64_MIN), "end": str(INT64_MAX), "limit": 10,
        "direction": "forward"}, timeout=120)
    assert r.status_code == 200, r.text
    lines = [v[1] for s in r.json()["data"]["result"] for v in s["values"]]
    assert lines[0] == f"at {INT64_MIN}"
    alive(b)
    still_readable(b, t)
    assert b.stop() == 0


HOSTILE_TIMES = [
    str(INT64_MIN), str(INT64_MAX), str(INT64_MIN - 1), str(INT64_MAX + 1), "99999999999999999999", "9999999999",
    "1.8e308", "-1.8e308", "10000000000.5", "1e308", "NaN", "Inf", "-Inf", "nan.", "inf.5",
    "0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z", "", "x" * 5000, "\u00e9\u2603",
]
HOSTILE_DURATIONS = ["10000y", "99999999999999999999s", "NaN", "Inf", "-Inf", "1.8e308", "9223372037", "-1h",
                     "1h30", "", "292y", "9223372036854775807ns"]


def test_hostile_query_parameters_get_4xx_never_a_crash(backend):
    t = push_good(backend)
    paths = ["/loki/api/v1/query_range", "/loki/api/v1/labels", "/loki/api/v1/label/job/values",
             "/loki/api/v1/series"]
    cases = []
    for value in HOSTILE_TIMES:
        cases += [{"start": value}, {"end": value}, {"start": value, "end": value}, {"end": value, "since": "1h"}]
    for value in HOSTILE_DURATIONS:
        cases += [{"since": value}, {"since": value, "end": str(INT64_MIN)}, {"since": value, "end": str(INT64_MAX)}]
    cases += [{"start": str(INT64_MIN), "end": str(INT64_MAX)}, {"limit": "99999999999999999999"},
              {"limit": "-1"}, {"limit": "NaN"}, {"direction": "sideways"}]
    for path in paths:
        for params in cases:
            query = {"query": '{job="kept"}', "match[]": '{job="kept"}', **params}
            r = requests.get(f"{backend.url}{path}", params=query, timeout=30)
            assert r.status_code < 500, (path, params, r.status_code, r.text)
            if r.status_code >= 400:
                assert r.text.strip(), (path, params)
    alive(backend)
    still_readable(backend, t)


def test_push_bodies_read_at_once_are_bounded_in_total(make_backend):
    # 64 KiB per body, so at most 16 x 64 KiB = 1 MiB of bodies may be held at once.
    b = make_backend(server="  grpc_server_max_recv_msg_size: 65536\n").start()
    import socket
    host, port = b.url.rsplit("/", 1)[1].split(":")
    body = json_body([({"job": "held"}, [(time.time_ns(), "x" * 60000)])])[0]
    assert len(body) < 65536
    sockets = []
    for _ in range(40):
        s = socket.create_connection((host, int(port)), timeout=30)
        s.sendall(f"POST /loki/api/v1/push HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n".encode() + body[:-10])
        sockets.append(s)
    statuses, retry_after = [], []
    for s in sockets:
        s.sendall(body[-10:])
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = s.recv(65536)
            if not chunk:
                break
            response += chunk
        head = response.split(b"\r\n\r\n")[0].decode()
        statuses.append(int(head.split()[1]))
        retry_after.append("retry-after: 1" in head.lower())
        s.close()
    # 40 x 60 KB held at once cannot all fit: some are refused with 503 and Retry-After, the rest are stored.
    assert 503 in statuses, statuses
    assert all(ok for status, ok in zip(statuses, retry_after) if status == 503)
    assert set(statuses) <= {204, 503}, statuses
    assert 'estuary_push_requests_refused_total{reason="inflight_bytes"}' in requests.get(f"{b.url}/metrics").text
    # Everything reserved was given back: a push of the largest size is accepted again.
    r = requests.post(f"{b.url}/loki/api/v1/push", data=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 204, r.text
    alive(b)
