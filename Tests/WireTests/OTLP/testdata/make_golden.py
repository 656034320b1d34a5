"""Writes the golden OTLP logs messages that OTLPGoldenTests decode and re-encode.

The bytes come from the real `opentelemetry-proto` package (Python protobuf), an encoder independent of ours and
of SwiftProtobuf. The Swift side spells out the same messages in OTLPGoldenTests.swift: change both together.
Run from the repository root, in a venv with the package (proto/generate-otlp.sh makes one):
    /tmp/otlp-proto-venv/bin/python Tests/WireTests/OTLP/testdata/make_golden.py
"""

import pathlib
from importlib import metadata

from google.protobuf import text_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
    ExportLogsPartialSuccess,
    ExportLogsServiceRequest,
    ExportLogsServiceResponse,
)
from opentelemetry.proto.common.v1.common_pb2 import (
    AnyValue,
    ArrayValue,
    InstrumentationScope,
    KeyValue,
    KeyValueList,
)
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs, SeverityNumber
from opentelemetry.proto.resource.v1.resource_pb2 import Resource

HERE = pathlib.Path(__file__).parent


def kv(key, value=None):
    return KeyValue(key=key) if value is None else KeyValue(key=key, value=value)


def string(text):
    return AnyValue(string_value=text)


def request():
    return ExportLogsServiceRequest(resource_logs=[
        ResourceLogs(
            resource=Resource(
                attributes=[kv("service.name", string("checkout")), kv("host.name", string("node-1"))],
                dropped_attributes_count=1,
            ),
            scope_logs=[ScopeLogs(
                scope=InstrumentationScope(
                    name="io.opentelemetry.python",
                    version="1.2.3",
                    attributes=[kv("scope.enabled", AnyValue(bool_value=True))],
                    dropped_attributes_count=2,
                ),
                log_records=[
                    LogRecord(
                        time_unix_nano=1700000000123456789,
                        observed_time_unix_nano=1700000000223456789,
                        severity_number=SeverityNumber.SEVERITY_NUMBER_INFO,
                        severity_text="INFO",
                        body=string("user logged in: naïve 日本語 😀 \"quoted\"\n"),
                        attributes=[
                            kv("http.method", string("GET")),
                            kv("http.status_code", AnyValue(int_value=200)),
                            kv("duration", AnyValue(double_value=0.25)),
                            kv("cached", AnyValue(bool_value=False)),
                            kv("tags", AnyValue(array_value=ArrayValue(values=[string("a"), string("b")]))),
                            kv("payload", AnyValue(bytes_value=b"\x00\x01\xfe\xff")),
                        ],
                        dropped_attributes_count=3,
                        flags=1,
                        trace_id=bytes.fromhex("5b8efff798038103d269b633813fc60c"),
                        span_id=bytes.fromhex("eee19b7ec3c1b174"),
                        event_name="user.login",
                    ),
                    LogRecord(
                        severity_number=SeverityNumber.SEVERITY_NUMBER_FATAL4,
                        body=AnyValue(kvlist_value=KeyValueList(values=[
                            kv("nested", AnyValue(array_value=ArrayValue(values=[
                                AnyValue(int_value=-1),
                                AnyValue(double_value=-0.5),
                                AnyValue(array_value=ArrayValue()),
                                AnyValue(kvlist_value=KeyValueList()),
                            ]))),
                            kv("empty", string("")),
                            kv("no.value"),
                        ])),
                    ),
                    LogRecord(
                        time_unix_nano=2**64 - 1,
                        severity_number=99,
                        body=AnyValue(bytes_value=b""),
                        attributes=[
                            kv("max", AnyValue(int_value=2**63 - 1)),
                            kv("min", AnyValue(int_value=-2**63)),
                            kv("zero", AnyValue(int_value=0)),
                            kv("double.zero", AnyValue(double_value=0.0)),
                            kv("infinity", AnyValue(double_value=float("inf"))),
                            kv("", string("empty key")),
                        ],
                        flags=0xFFFFFFFF,
                    ),
                    LogRecord(),
                ],
                schema_url="https://opentelemetry.io/schemas/1.21.0",
            )],
            schema_url="https://opentelemetry.io/schemas/1.20.0",
        ),
        ResourceLogs(scope_logs=[ScopeLogs(log_records=[
            LogRecord(severity_text="warn", body=string("second resource")),
        ])]),
    ])


def response():
    return ExportLogsServiceResponse(partial_success=ExportLogsPartialSuccess(
        rejected_log_records=5, error_message="5 log records are older than the retention period"))


def main():
    for name, message in (("logs-request", request()), ("logs-response-partial", response())):
        (HERE / f"{name}.binpb").write_bytes(message.SerializeToString(deterministic=True))
        (HERE / f"{name}.txtpb").write_text(text_format.MessageToString(message, as_utf8=True))
    versions = f"opentelemetry-proto {metadata.version('opentelemetry-proto')}, protobuf {metadata.version('protobuf')}\n"
    (HERE / "golden-versions.txt").write_text(versions)
    print(versions, end="")


if __name__ == "__main__":
    main()
