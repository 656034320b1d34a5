"""Writes the FileDescriptorSet of OTLP's logs protos, as embedded in PyPI's `opentelemetry-proto`.

No Debian package ships the OTLP .proto files, but the Python package carries each file's serialized
FileDescriptorProto (`DESCRIPTOR.serialized_pb`). protoc reads the set with `--descriptor_set_in`.
Usage: python make_descriptor_set.py OUT.binpb   (see proto/generate-otlp.sh)
Also writes OUT with .txtpb for .binpb: the same set as text, so that a regeneration's diff shows what changed.
"""

import sys

from google.protobuf import descriptor_pb2, text_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.logs.v1 import logs_pb2
from opentelemetry.proto.resource.v1 import resource_pb2


def main() -> None:
    descriptor_set = descriptor_pb2.FileDescriptorSet()
    # Dependencies before the files that import them.
    for module in (common_pb2, resource_pb2, logs_pb2, logs_service_pb2):
        descriptor_set.file.append(descriptor_pb2.FileDescriptorProto.FromString(module.DESCRIPTOR.serialized_pb))
    with open(sys.argv[1], "wb") as out:
        out.write(descriptor_set.SerializeToString(deterministic=True))
    with open(sys.argv[1].removesuffix(".binpb") + ".txtpb", "w") as out:
        out.write(text_format.MessageToString(descriptor_set))
    for file in descriptor_set.file:
        print(file.name)


if __name__ == "__main__":
    main()
