"""Loki's OTLP endpoint on the backend: the real OpenTelemetry Python SDK exports logs over OTLP/HTTP straight to
`estuary backend` at /otlp/v1/logs, and query_range returns them with Loki's labels and structured metadata."""
import gzip
import json
import logging
import time
import uuid

import requests
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from conftest import Backend


def query(url, selector, start_ns, tenant=None):
    headers = {"X-Scope-OrgID": tenant} if tenant else {}
    r = requests.get(url + "/loki/api/v1/query_range", headers=headers, timeout=10,
                     params={"query": selector, "start": str(start_ns), "end": str(time.time_ns() + 10**9),
                             "limit": "1000", "direction": "forward"})
    assert r.status_code == 200, r.text
    return r.json()["data"]["result"]


def export(url, resource, records, compression=Compression.NoCompression, tenant=None):
    """Sends `records` (level, message, extra attributes) through the SDK's logging handler and exporter."""
    headers = {"X-Scope-OrgID": tenant} if tenant else None
    provider = LoggerProvider(resource=Resource.create(resource))
    provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=url + "/otlp/v1/logs", compression=compression, headers=headers)))
    logger = logging.getLogger("otlp-test-" + uuid.uuid4().hex)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("request") as span:
        for level, message, extra in records:
            logger.log(level, message, extra=extra)
        context = span.get_span_context()
    assert provider.force_flush(10_000)
    provider.shutdown()
    return format(context.trace_id, "032x"), format(context.span_id, "016x"), str(int(context.trace_flags))


def test_sdk_logs_come_back_with_lokis_labels_and_structured_metadata(backend):
    service = "checkout-" + uuid.uuid4().hex[:6]
    start = time.time_ns() - 10**9
    trace_id, span_id, flags = export(backend.url, {"service.name": service, "k8s.namespace.name": "shop",
                                             "host.name": "node-1"},
                               [(logging.WARNING, "card declined", {"order.id": 42, "user": "ann"}),
                                (logging.INFO, "order placed", {})])
    streams = query(backend.url, '{service_name="%s"}' % service, start)
    by_line = {}
    for s in streams:
        for ts, line in s["values"]:
            by_line[line] = (int(ts), s["stream"])
    assert set(by_line) == {"card declined", "order placed"}
    ts, labels = by_line["card declined"]
    assert start <= ts <= time.time_ns()
    # Index labels (Loki's defaults, normalised) and structured metadata, all shown as stream labels by Loki's
    # default answer.
    assert labels["service_name"] == service
    assert labels["k8s_namespace_name"] == "shop"
    assert labels["host_name"] == "node-1"           # not a default index label: structured metadata
    assert labels["order_id"] == "42"
    assert labels["user"] == "ann"
    assert labels["severity_text"] == "WARN"
    assert labels["severity_number"] == "13"
    assert labels["detected_level"] == "warn"
    assert labels["trace_id"] == trace_id
    assert labels["span_id"] == span_id
    assert labels["flags"] == flags
    assert labels["scope_name"].startswith("otlp-test-")
    assert "observed_timestamp" in labels
    assert by_line["order placed"][1]["detected_level"] == "info"

    # Index labels are really labels: they select and list; structured metadata does not.
    names = requests.get(backend.url + "/loki/api/v1/labels", params={"start": str(start)}, timeout=10).json()["data"]
    assert {"service_name", "k8s_namespace_name"} <= set(names)
    assert "host_name" not in names and "trace_id" not in names
    assert query(backend.url, '{k8s_namespace_name="shop", service_name="%s"}' % service, start)


def test_gzip_json_bodies_tenants_and_configured_attributes(make_backend):
    b = make_backend(auth=True, limits="""  otlp_config:
    resource_attributes:
      attributes_config:
        - action: index_label
          attributes: [team]
        - action: drop
          regex: secret\\..*
    log_attributes:
      - action: drop
        attributes: [password]
""").start()
    now = time.time_ns()
    body = {"resourceLogs": [{
        "resource": {"attributes": [{"key": "team", "value": {"stringValue": "core"}},
                                    {"key": "secret.token", "value": {"stringValue": "s3cr3t"}}]},
        "scopeLogs": [{"scope": {"name": "json-scope", "version": "2.0"}, "logRecords": [
            {"timeUnixNano": str(now + i), "body": {"kvlistValue": {"values": [
                {"key": "msg", "value": {"stringValue": f"record {i}"}},
                {"key": "level", "value": {"stringValue": "error"}}]}},
             "attributes": [{"key": "password", "value": {"stringValue": "hunter2"}},
                            {"key": "tags", "value": {"arrayValue": {"values": [{"intValue": "1"}]}}}]}
            for i in range(3)]}]}]}
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip", "X-Scope-OrgID": "team-a"}
    r = requests.post(b.url + "/otlp/v1/logs", data=gzip.compress(json.dumps(body).encode()), headers=headers,
                      timeout=10)
    assert r.status_code == 204, r.text

    streams = query(b.url, '{team="core"}', now - 10**9, tenant="team-a")
    assert len(streams) == 1
    labels = streams[0]["stream"]
    assert labels["service_name"] == "unknown_service"
    assert labels["scope_name"] == "json-scope" and labels["scope_version"] == "2.0"
    assert labels["tags"] == "[1]"
    assert labels["detected_level"] == "error"
    assert "password" not in labels and "secret_token" not in labels
    assert [json.loads(line)["msg"] for _, line in streams[0]["values"]] == [f"record {i}" for i in range(3)]
    # Another tenant sees nothing; no tenant at all is refused as on the push endpoint.
    assert query(b.url, '{team="core"}', now - 10**9, tenant="team-b") == []
    r = requests.post(b.url + "/otlp/v1/logs", data=json.dumps(body), headers={"Content-Type": "application/json"})
    assert r.status_code == 401


def test_sdk_gzip_protobuf_and_bad_bodies(backend):
    service = "gz-" + uuid.uuid4().hex[:6]
    start = time.time_ns() - 10**9
    export(backend.url, {"service.name": service}, [(logging.ERROR, "compressed", {})], compression=Compression.Gzip)
    streams = query(backend.url, '{service_name="%s"}' % service, start)
    assert [v[1] for s in streams for v in s["values"]] == ["compressed"]

    for data, headers, status in [
        (b"\x0a\x05\x0a", {"Content-Type": "application/x-protobuf"}, 400),
        (b"{", {"Content-Type": "application/json"}, 400),
        (b"{}", {"Content-Type": "text/plain"}, 400),
        (b"not gzip", {"Content-Type": "application/json", "Content-Encoding": "gzip"}, 400),
    ]:
        r = requests.post(backend.url + "/otlp/v1/logs", data=data, headers=headers, timeout=10)
        assert r.status_code == status, (data, r.text)
        assert r.headers["Content-Type"] == "application/octet-stream"
        assert r.content[:1] == b"\x12"   # google.rpc.Status, message field
    metrics = requests.get(backend.url + "/metrics", timeout=10).text
    assert 'loki_discarded_bytes_total{reason="invalid_request",tenant="fake"}' in metrics


def test_old_records_are_discarded_with_a_reason(backend):
    old = time.time_ns() - 30 * 24 * 3600 * 10**9
    body = {"resourceLogs": [{"scopeLogs": [{"logRecords": [
        {"timeUnixNano": str(old), "body": {"stringValue": "too old"}}]}]}]}
    r = requests.post(backend.url + "/otlp/v1/logs", data=json.dumps(body),
                      headers={"Content-Type": "application/json"}, timeout=10)
    assert r.status_code == 400
    assert b"timestamp too old" in r.content
    metrics = requests.get(backend.url + "/metrics", timeout=10).text
    assert 'loki_discarded_samples_total{reason="greater_than_max_sample_age",tenant="fake"} 1' in metrics
