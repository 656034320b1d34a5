#!/usr/bin/env bash
# Regenerates Sources/Wire/Generated/OTLP/*.pb.swift (the tests' reference codec for OTLP logs) from the
# descriptors embedded in PyPI's opentelemetry-proto. See proto/README.md.
#
# Needs python3 (with venv), protoc (Debian: apt-get install -y protobuf-compiler) and protoc-gen-swift from
# the swift-protobuf version in Package.swift: pass its path as $PROTOC_GEN_SWIFT, or the script builds it with
# `swift build --product protoc-gen-swift` into $SCRATCH_PATH (default .build). The gRPC service code for
# `LogsService` comes from protoc-gen-grpc-swift-2 of the grpc-swift-protobuf version in Package.swift: pass its
# path as $PROTOC_GEN_GRPC_SWIFT, or the script builds it the same way.
# The Python package goes into a venv under /tmp ($OTLP_VENV), never into the repository.
set -euo pipefail
cd "$(dirname "$0")/.."

version="${OTLP_PROTO_VERSION:-1.45.2}"
venv="${OTLP_VENV:-/tmp/otlp-proto-venv}"
scratch="${SCRATCH_PATH:-.build}"
descriptors=proto/otlp/otlp-logs.binpb
out=Sources/Wire/Generated/OTLP

if [ ! -x "$venv/bin/python" ]; then python3 -m venv "$venv"; fi
"$venv/bin/python" -m pip install --quiet "opentelemetry-proto==$version"
"$venv/bin/python" proto/otlp/make_descriptor_set.py "$descriptors"

plugin="${PROTOC_GEN_SWIFT:-}"
if [ -z "$plugin" ]; then
    swift build --scratch-path "$scratch" --product protoc-gen-swift
    plugin="$scratch/debug/protoc-gen-swift"
fi

grpc_plugin="${PROTOC_GEN_GRPC_SWIFT:-}"
if [ -z "$grpc_plugin" ]; then
    swift build --scratch-path "$scratch" --product protoc-gen-grpc-swift-2
    grpc_plugin="$scratch/debug/protoc-gen-grpc-swift-2"
fi

rm -f "$out"/*.pb.swift "$out"/*.grpc.swift
protoc --plugin=protoc-gen-swift="$plugin" \
    --descriptor_set_in="$descriptors" \
    --swift_opt=Visibility=Public \
    --swift_opt=FileNaming=PathToUnderscores \
    --swift_out="$out" \
    opentelemetry/proto/common/v1/common.proto \
    opentelemetry/proto/resource/v1/resource.proto \
    opentelemetry/proto/logs/v1/logs.proto \
    opentelemetry/proto/collector/logs/v1/logs_service.proto
# The service stubs (method descriptors, client, server protocol) for OTLP over gRPC.
protoc --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" \
    --descriptor_set_in="$descriptors" \
    --grpc-swift-2_opt=Visibility=Public \
    --grpc-swift-2_opt=FileNaming=PathToUnderscores \
    --grpc-swift-2_out="$out" \
    opentelemetry/proto/collector/logs/v1/logs_service.proto
echo "opentelemetry-proto $version -> $out:"
ls "$out"
