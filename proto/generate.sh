#!/usr/bin/env bash
# Regenerates Sources/Wire/Generated/push.pb.swift from proto/push.proto. See proto/README.md.
# Needs protoc (Debian: apt-get install -y protobuf-compiler libprotobuf-dev) and a protoc-gen-swift built from
# swift-protobuf 1.39.0; pass its path as $PROTOC_GEN_SWIFT (default: .build/release/protoc-gen-swift).
set -euo pipefail
cd "$(dirname "$0")/.."
plugin="${PROTOC_GEN_SWIFT:-.build/release/protoc-gen-swift}"
protoc --plugin=protoc-gen-swift="$plugin" \
    --swift_opt=Visibility=Public \
    --swift_out=Sources/Wire/Generated \
    --proto_path=proto \
    proto/push.proto
