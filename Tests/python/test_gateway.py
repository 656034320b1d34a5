"""The gateway path end to end: the real OpenTelemetry Python SDK sends OTLP/HTTP logs to `estuary run
config/gateway.alloy`, which writes them to a running `estuary backend`; every record comes back from query_range."""
import gzip
import json
import logging
import time
import uuid

import requests
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from conftest import ROOT, free_port

GATEWAY = str(ROOT / "config" / "gateway.alloy")


def start_gateway(backend, make_agent):
    port = free_port()
    agent = make_agent(GATEWAY, env={
        "LOKI_PUSH_URL": backend.url + "/loki/api/v1/push",
        "LOKI_TENANT_ID": "fake",
        "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{port}",
        "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}",
    })
    endpoint = f"http://127.0.0.1:{port}/v1/logs"
    deadline = time.monotonic() + 30
    while True:  # the receiver starts right after the API; wait until it answers
        try:
            requests.post(endpoint, data=b"", headers={"Content-Type": "application/x-protobuf"}, timeout=2)
            return agent, endpoint
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise RuntimeError("OTLP receiver did not start: " + agent.log())
            time.sleep(0.05)


def query(backend, selector, expected, start_ns):
    """Polls query_range until `expected` entries are back (the agent batches for up to a second)."""
    deadline = time.monotonic() + 30
    while True:
        r = requests.get(backend.url + "/loki/api/v1/query_range",
                         params={"query": selector, "start": str(start_ns), "end": str(time.time_ns() + 10**9),
                                 "limit": "5000", "direction": "forward"}, timeout=10)
        assert r.status_code == 200, r.text
        streams = r.json()["data"]["result"]
        count = sum(len(s["values"]) for s in streams)
        if count >= expected or time.monotonic() > deadline:
            return streams
        time.sleep(0.1)


def test_otel_sdk_protobuf_logs_arrive_with_labels_line_and_timestamp(backend, make_agent):
    agent, endpoint = start_gateway(backend, make_agent)
    service = "svc-" + uuid.uuid4().hex[:8]
    provider = LoggerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "ci"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(OTLPLogExporter(endpoint=endpoint)))
    logger = logging.getLogger(service)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    start = time.time_ns() - 10**9
    for i in range(50):
        logger.warning("order %d shipped", i)
    assert provider.force_flush(10_000)
    provider.shutdown()

    # Alloy's converter turns service.name (with service.namespace, if any) into the job label.
    streams = query(backend, '{job="%s"}' % service, 50, start)
    values = [v for s in streams for v in s["values"]]
    assert len(values) == 50, agent.log()
    labels = streams[0]["stream"]
    assert labels["exporter"] == "OTLP"
    assert labels["job"] == service
    lines = sorted(json.loads(v[1])["body"] for v in values)
    assert lines == sorted(f"order {i} shipped" for i in range(50))
    for ts, line in values:
        assert start <= int(ts) <= time.time_ns()
        assert json.loads(line)["severity"] == "WARN"


def test_otlp_json_with_gzip_arrives(backend, make_agent):
    agent, endpoint = start_gateway(backend, make_agent)
    service = "json-" + uuid.uuid4().hex[:8]
    now = time.time_ns()
    body = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
        "scopeLogs": [{"scope": {"name": "test"}, "logRecords": [
            {"timeUnixNano": str(now + i), "severityNumber": 9, "severityText": "INFO",
             "body": {"stringValue": f"json record {i}"},
             "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}
            for i in range(10)]}]}]}
    r = requests.post(endpoint, data=gzip.compress(json.dumps(body).encode()),
                      headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")

    streams = query(backend, '{job="%s"}' % service, 10, now - 10**9)
    values = sorted((int(ts), json.loads(line)) for s in streams for ts, line in s["values"])
    assert [ts for ts, _ in values] == [now + i for i in range(10)], agent.log()
    assert values[0][1]["body"] == "json record 0"
    assert values[0][1]["traceid"] == "5b8efff798038103d269b633813fc60c"
    assert values[0][1]["spanid"] == "eee19b7ec3c1b174"


def test_malformed_bodies_get_400_and_the_agent_keeps_running(backend, make_agent):
    agent, endpoint = start_gateway(backend, make_agent)
    r = requests.post(endpoint, data=b"\xff\xff\xff", headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert r.status_code == 400
    r = requests.post(endpoint, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert "message" in r.json()
    r = requests.post(endpoint, data=b"x", headers={"Content-Type": "text/plain"}, timeout=10)
    assert r.status_code == 415
    assert requests.get(agent.url + "/-/ready", timeout=5).status_code == 200
    metrics = requests.get(agent.url + "/metrics", timeout=5).text
    assert "otelcol_receiver_accepted_log_records_total" in metrics


def test_reload_with_a_broken_config_keeps_the_old_graph(backend, make_agent, tmp_path):
    config = tmp_path / "agent.alloy"
    original = open(GATEWAY).read()
    config.write_text(original)
    port = free_port()
    agent = make_agent(str(config), env={"LOKI_PUSH_URL": backend.url + "/loki/api/v1/push",
                                         "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{port}",
                                         "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{free_port()}"})
    components = requests.get(agent.url + "/api/v0/web/components", timeout=5).json()
    assert [c["localID"] for c in components] == [
        "loki.write.default", "otelcol.exporter.loki.default", "otelcol.processor.batch.default",
        "otelcol.receiver.otlp.default"]
    config.write_text(original + '\nloki.write "broken" {\n\tendpoint {}\n}\n')
    r = requests.post(agent.url + "/-/reload", timeout=10)
    assert r.status_code == 400
    assert "missing required attribute" in r.text and "agent.alloy:" in r.text
    assert len(requests.get(agent.url + "/api/v0/web/components", timeout=5).json()) == 4
    config.write_text(original + '\nloki.echo "debug" {}\n')
    r = requests.post(agent.url + "/-/reload", timeout=10)
    assert r.status_code == 200, r.text
    assert len(requests.get(agent.url + "/api/v0/web/components", timeout=5).json()) == 5


def test_backend_outage_loses_nothing_the_receiver_acknowledged(make_backend, make_agent):
    backend = make_backend().start()
    port = int(backend.url.rsplit(":", 1)[1])
    agent, endpoint = start_gateway(backend, make_agent)
    backend.stop()  # the agent's loki.write now fails to connect and retries with backoff

    service = "outage-" + uuid.uuid4().hex[:8]
    now = time.time_ns()
    acknowledged = 0
    for batch in range(20):
        body = {"resourceLogs": [{
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": service}}]},
            "scopeLogs": [{"logRecords": [
                {"timeUnixNano": str(now + batch * 100 + i), "body": {"stringValue": f"record {batch}-{i}"}}
                for i in range(50)]}]}]}
        r = requests.post(endpoint, json=body, timeout=10)
        assert r.status_code in (200, 429, 503), r.text
        if r.status_code == 200:
            acknowledged += 50
        else:
            assert "Retry-After" in r.headers
    assert acknowledged > 0

    backend.start(port=port)  # same data directory, same port
    streams = query(backend, '{job="%s"}' % service, acknowledged, now - 10**9)
    lines = {line for s in streams for _, line in s["values"]}
    assert len(lines) == acknowledged, agent.log()


def test_the_gateway_takes_otlp_over_grpc_on_its_second_port(backend, make_agent):
    """config/gateway.alloy as seed 002 runs it: telemetrygen-style gRPC export to the gateway's gRPC port."""
    import socket
    from test_otlp_grpc import send
    http_port, grpc_port = free_port(), free_port()
    make_agent(GATEWAY, env={"LOKI_PUSH_URL": backend.url + "/loki/api/v1/push",
                             "OTLP_HTTP_ENDPOINT": f"127.0.0.1:{http_port}",
                             "OTLP_GRPC_ENDPOINT": f"127.0.0.1:{grpc_port}"})
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", grpc_port), timeout=2).close()
            break
        except OSError:
            assert time.monotonic() < deadline, "the gateway's gRPC receiver did not start"
            time.sleep(0.05)
    start = time.time_ns() - 10**9
    service = "grpc-" + uuid.uuid4().hex[:8]
    send(grpc_port, service, [f"line {i}" for i in range(50)])
    streams = query(backend, '{job="%s"}' % service, 50, start)
    bodies = sorted(json.loads(v[1])["body"] for s in streams for v in s["values"])
    assert bodies == sorted(f"line {i}" for i in range(50))
