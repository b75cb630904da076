#!/usr/bin/env bash
# Generates Swift (protoc-gen-swift from swift-protobuf) and C (protoc-c) code
# from proto/oms/v1/*.proto into the committed locations, and records the
# SHA-256 of the sources in proto/GENERATED_FROM.
#   --check  generate into a temp dir and fail if the committed code differs.
set -euo pipefail
cd "$(dirname "$0")/.."
check=0; [ "${1:-}" = "--check" ] && check=1
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
mkdir -p "$out/swift" "$out/c"

# The Swift plugin builds from the swift-protobuf package this project depends on.
plugin=.build/debug/protoc-gen-swift
[ -x "$plugin" ] || plugin=.build/release/protoc-gen-swift
if [ ! -x "$plugin" ]; then
  swift build --product protoc-gen-swift >/dev/null
  plugin=.build/debug/protoc-gen-swift
fi
protoc -Iproto --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
  --swift_opt=FileNaming=PathToUnderscores --swift_out="$out/swift" proto/oms/v1/*.proto
protoc -Iproto --c_out="$out/c" proto/oms/v1/*.proto
sha256sum proto/oms/v1/*.proto > "$out/GENERATED_FROM"

# Client API (proto/oms/api/v1, package oms.api.v1): messages + grpc-swift-2
# stubs into Sources/OMSAPI/Generated; oms.v1 types map to the OMSCore module.
grpc_plugin=.build/debug/protoc-gen-grpc-swift-2
[ -x "$grpc_plugin" ] || grpc_plugin=.build/release/protoc-gen-grpc-swift-2
if [ ! -x "$grpc_plugin" ]; then
  swift build --product protoc-gen-grpc-swift-2 >/dev/null
  grpc_plugin=.build/debug/protoc-gen-grpc-swift-2
fi
mkdir -p "$out/api"
api_map=proto/oms/api/module_mappings.asciipb
protoc -Iproto --plugin=protoc-gen-swift="$plugin" --plugin=protoc-gen-grpc-swift-2="$grpc_plugin" \
  --swift_opt=Visibility=Public --swift_opt=FileNaming=PathToUnderscores --swift_opt=ProtoPathModuleMappings=$api_map \
  --swift_out="$out/api" \
  --grpc-swift-2_opt=Visibility=Public --grpc-swift-2_opt=FileNaming=PathToUnderscores \
  --grpc-swift-2_opt=ProtoPathModuleMappings=$api_map --grpc-swift-2_out="$out/api" \
  proto/oms/api/v1/*.proto
sha256sum proto/oms/api/v1/*.proto "$api_map" > "$out/API_GENERATED_FROM"

if [ $check = 1 ]; then
  stale=0
  diff -r "$out/swift" Sources/OMSCore/Generated >/dev/null || { echo "stale: Sources/OMSCore/Generated"; stale=1; }
  diff -r "$out/c" cpp-core/generated >/dev/null || { echo "stale: cpp-core/generated"; stale=1; }
  diff "$out/GENERATED_FROM" proto/GENERATED_FROM >/dev/null || { echo "stale: proto/GENERATED_FROM"; stale=1; }
  diff -r "$out/api" Sources/OMSAPI/Generated >/dev/null || { echo "stale: Sources/OMSAPI/Generated"; stale=1; }
  diff "$out/API_GENERATED_FROM" proto/oms/api/GENERATED_FROM >/dev/null || { echo "stale: proto/oms/api/GENERATED_FROM"; stale=1; }
  # Golden vectors must be what protoc encodes from their text sources.
  for src in proto/testdata/*.txtpb; do
    name=$(basename "$src" .txtpb); type=$(sed -n 's/^# type: *//p' "$src" | head -n1)
    { grep -v "^#" "$src" || true; } | protoc -Iproto --encode="$type" proto/oms/v1/*.proto | cmp -s - "proto/testdata/$name.bin" \
      || { echo "stale: proto/testdata/$name.bin"; stale=1; }
  done
  # P&L vectors come from oms-core's own arithmetic (position.hpp); Swift's archiver checks the same numbers.
  if command -v g++ >/dev/null; then
    g++ -std=c++20 -O1 -Icpp-core/engine/include scripts/gen-pnl-vectors.cpp -o "$out/gen-pnl" && "$out/gen-pnl" | cmp -s - proto/testdata/pnl_vectors.json \
      || { echo "stale: proto/testdata/pnl_vectors.json (oms-core P&L arithmetic changed?)"; stale=1; }
  fi
  [ $stale = 0 ] && echo "generated code and golden vectors are up to date" || { echo "run: make proto"; exit 1; }
else
  rm -rf Sources/OMSCore/Generated cpp-core/generated
  cp -r "$out/swift" Sources/OMSCore/Generated
  cp -r "$out/c" cpp-core/generated
  cp "$out/GENERATED_FROM" proto/GENERATED_FROM
  g++ -std=c++20 -O1 -Icpp-core/engine/include scripts/gen-pnl-vectors.cpp -o "$out/gen-pnl" && "$out/gen-pnl" > proto/testdata/pnl_vectors.json
  rm -rf Sources/OMSAPI/Generated
  cp -r "$out/api" Sources/OMSAPI/Generated
  cp "$out/API_GENERATED_FROM" proto/oms/api/GENERATED_FROM
  echo "regenerated Swift and C code from $(ls proto/oms/v1/*.proto | wc -l) proto files"
fi
