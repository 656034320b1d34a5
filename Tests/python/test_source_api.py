"""Agents chained through Loki's push API: Loki clients (an independent protobuf + snappy encoder, JSON, raw lines)
push to `loki.source.api` in `estuary run`, which forwards to `loki.write` and on to a running `estuary backend`."""
import time
import uuid

import requests

import lokipush
from conftest import free_port
from test_gateway import query


def start_relay(backend, make_agent, tmp_path, extra=""):
    port = free_port()
    config = tmp_path / "relay.alloy"
    config.write_text(f"""
loki.source.api "in" {{
  http {{
    listen_address = "127.0.0.1"
    listen_port    = {port}
  }}
  labels     = {{ relay = "estuary" }}
  forward_to = [loki.write.out.receiver]
  {extra}
}}

loki.write "out" {{
  endpoint {{
    url        = "{backend.url}/loki/api/v1/push"
    batch_wait = "100ms"
  }}
}}
""")
    agent = make_agent(str(config))
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            if requests.get(base + "/ready", timeout=2).status_code == 200:
                return agent, base
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError("loki.source.api did not start: " + agent.log())
        time.sleep(0.05)


def test_protobuf_and_json_pushes_arrive_with_labels_timestamps_and_metadata(backend, make_agent, tmp_path):
    agent, base = start_relay(backend, make_agent, tmp_path, extra="use_incoming_timestamp = true")
    job = "relay-" + uuid.uuid4().hex[:8]
    start = time.time_ns() - 60 * 10**9
    t0 = time.time_ns() - 10 * 10**9
    body = lokipush.protobuf_body([
        (f'{{job="{job}", via="protobuf"}}', [(t0 + i, f"proto line {i}", {"trace_id": f"t{i}"}) for i in range(50)]),
    ])
    r = requests.post(base + "/loki/api/v1/push", data=body,
                      headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 204, r.text
    body, headers = lokipush.json_body([({"job": job, "via": "json"}, [(t0 + 1000 + i, f"json line {i}") for i in range(50)])],
                                       encoding="gzip")
    r = requests.post(base + "/loki/api/v1/push", data=body, headers=headers, timeout=10)
    assert r.status_code == 204, r.text

    streams = query(backend, f'{{job="{job}"}}', 100, start)
    by_via = {}
    for s in streams:
        assert s["stream"]["relay"] == "estuary"
        by_via.setdefault(s["stream"]["via"], []).extend((s["stream"], v) for v in s["values"])
    assert set(by_via) == {"protobuf", "json"}
    proto = sorted(by_via["protobuf"], key=lambda item: int(item[1][0]))
    assert [v[1] for _, v in proto] == [f"proto line {i}" for i in range(50)]
    assert [int(v[0]) for _, v in proto] == [t0 + i for i in range(50)]  # use_incoming_timestamp keeps them
    # Structured metadata travels on: Loki's default answer shows it among the entry's stream labels.
    assert [labels.get("trace_id") for labels, _ in proto] == [f"t{i}" for i in range(50)]
    assert len(by_via["json"]) == 50


def test_raw_lines_and_bad_bodies(backend, make_agent, tmp_path):
    agent, base = start_relay(backend, make_agent, tmp_path)
    start = time.time_ns() - 10**9
    tag = uuid.uuid4().hex[:8]
    r = requests.post(base + "/loki/api/v1/raw", data=f"raw one {tag}\nraw two {tag}\n".encode(), timeout=10)
    assert r.status_code == 204, r.text
    streams = query(backend, f'{{relay="estuary"}} |= "{tag}"', 2, start)
    assert sorted(v[1] for s in streams for v in s["values"]) == [f"raw one {tag}", f"raw two {tag}"]

    r = requests.post(base + "/loki/api/v1/push", data=b"\x00not snappy",
                      headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 400 and r.text.strip()
    assert requests.get(base + "/ready", timeout=5).status_code == 200  # still serving
