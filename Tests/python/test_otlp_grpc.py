"""OTLP over gRPC end to end: the real OpenTelemetry Python SDK's gRPC exporter sends logs to `estuary run` with
`otelcol.receiver.otlp { grpc { ... } }`, which batches them, converts them as Alloy does and writes them to a
running `estuary backend`; every record comes back from query_range with its labels."""
import json
import logging
import socket
import time
import uuid

import requests
from grpc import Compression
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

from conftest import free_port
from test_gateway import query

CONFIG = """
otelcol.receiver.otlp "default" {
  grpc {
    endpoint = "127.0.0.1:%(port)d"
  }
  output {
    logs = [otelcol.processor.batch.default.input]
  }
}

otelcol.processor.batch "default" {
  output {
    logs = [otelcol.exporter.loki.default.input]
  }
}

otelcol.exporter.loki "default" {
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "%(push)s"
  }
}
"""


def start_grpc_agent(backend, make_agent, tmp_path):
    port = free_port()
    config = tmp_path / "grpc.alloy"
    config.write_text(CONFIG % {"port": port, "push": backend.url + "/loki/api/v1/push"})
    agent = make_agent(str(config))
    deadline = time.monotonic() + 30
    while True:  # the receiver starts right after the API; wait until its port takes connections
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            return agent, port
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("OTLP gRPC receiver did not start: " + agent.log())
            time.sleep(0.05)


def send(port, service, messages, compression=Compression.NoCompression):
    provider = LoggerProvider(resource=Resource.create({"service.name": service, "deployment.environment": "ci"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(
        OTLPLogExporter(endpoint=f"127.0.0.1:{port}", insecure=True, compression=compression)))
    logger = logging.getLogger(service)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=provider))
    for message in messages:
        logger.warning(message)
    assert provider.force_flush(10_000)
    provider.shutdown()


def test_sdk_grpc_logs_arrive_with_labels_line_and_timestamp(backend, make_agent, tmp_path):
    agent, port = start_grpc_agent(backend, make_agent, tmp_path)
    start = time.time_ns() - 10**9
    plain = "svc-" + uuid.uuid4().hex[:8]
    zipped = "svc-" + uuid.uuid4().hex[:8]
    send(port, plain, [f"order {i} shipped" for i in range(50)])
    send(port, zipped, [f"parcel {i} lost" for i in range(30)], compression=Compression.Gzip)

    for service, expected in ((plain, [f"order {i} shipped" for i in range(50)]),
                              (zipped, [f"parcel {i} lost" for i in range(30)])):
        # Alloy's converter turns service.name into the job label.
        streams = query(backend, '{job="%s"}' % service, len(expected), start)
        values = [v for s in streams for v in s["values"]]
        assert len(values) == len(expected), agent.log()
        for s in streams:
            assert s["stream"]["job"] == service
            assert s["stream"]["exporter"] == "OTLP"
        assert sorted(json.loads(v[1])["body"] for v in values) == sorted(expected)
        for ts, line in values:
            assert start <= int(ts) <= time.time_ns()
            record = json.loads(line)
            assert record["severity"] == "WARN"
            assert record["resources"]["deployment.environment"] == "ci"

    metrics = requests.get(agent.url + "/metrics", timeout=5).text
    accepted = [line for line in metrics.splitlines()
                if line.startswith("otelcol_receiver_accepted_log_records_total") and 'transport="grpc"' in line]
    assert accepted and float(accepted[0].rsplit(" ", 1)[1]) == 80, metrics


RELAY = """
otelcol.receiver.otlp "edge" {
  grpc {
    endpoint = "127.0.0.1:%(edge)d"
  }
  output {
    logs = [otelcol.exporter.otlp.hop.input]
  }
}

otelcol.exporter.otlp "hop" {
  client {
    endpoint = "127.0.0.1:%(gateway)d"
    tls {
      insecure = true
    }
  }
}

otelcol.receiver.otlp "gateway" {
  grpc {
    endpoint = "127.0.0.1:%(gateway)d"
  }
  output {
    logs = [otelcol.exporter.loki.default.input]
  }
}

otelcol.exporter.loki "default" {
  forward_to = [loki.write.default.receiver]
}

loki.write "default" {
  endpoint {
    url = "%(push)s"
  }
}
"""


def test_otlp_grpc_exporter_relays_to_another_receiver(backend, make_agent, tmp_path):
    """SDK --gRPC--> receiver --otelcol.exporter.otlp (gRPC, gzip)--> receiver --> Loki: nothing lost on the hop."""
    edge, gateway = free_port(), free_port()
    config = tmp_path / "relay.alloy"
    config.write_text(RELAY % {"edge": edge, "gateway": gateway, "push": backend.url + "/loki/api/v1/push"})
    agent = make_agent(str(config))
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", edge), timeout=2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError("OTLP gRPC receiver did not start: " + agent.log())
            time.sleep(0.05)
    start = time.time_ns() - 10**9
    service = "relay-" + uuid.uuid4().hex[:8]
    expected = [f"hop {i}" for i in range(40)]
    send(edge, service, expected)
    streams = query(backend, '{job="%s"}' % service, len(expected), start)
    values = [v for s in streams for v in s["values"]]
    assert sorted(json.loads(v[1])["body"] for v in values) == sorted(expected), agent.log()
    metrics = requests.get(agent.url + "/metrics", timeout=5).text
    sent = [line for line in metrics.splitlines()
            if line.startswith("otelcol_exporter_sent_log_records_total") and 'exporter="otlp/' in line]
    assert sent and float(sent[0].rsplit(" ", 1)[1]) == 40, metrics
