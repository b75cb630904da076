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

if [ $check = 1 ]; then
  stale=0
  diff -r "$out/swift" Sources/OMSCore/Generated >/dev/null || { echo "stale: Sources/OMSCore/Generated"; stale=1; }
  diff -r "$out/c" cpp-core/generated >/dev/null || { echo "stale: cpp-core/generated"; stale=1; }
  diff "$out/GENERATED_FROM" proto/GENERATED_FROM >/dev/null || { echo "stale: proto/GENERATED_FROM"; stale=1; }
  # Golden vectors must be what protoc encodes from their text sources.
  for src in proto/testdata/*.txtpb; do
    name=$(basename "$src" .txtpb); type=$(sed -n 's/^# type: *//p' "$src" | head -n1)
    { grep -v "^#" "$src" || true; } | protoc -Iproto --encode="$type" proto/oms/v1/*.proto | cmp -s - "proto/testdata/$name.bin" \
      || { echo "stale: proto/testdata/$name.bin"; stale=1; }
  done
  [ $stale = 0 ] && echo "generated code and golden vectors are up to date" || { echo "run: make proto"; exit 1; }
else
  rm -rf Sources/OMSCore/Generated cpp-core/generated
  cp -r "$out/swift" Sources/OMSCore/Generated
  cp -r "$out/c" cpp-core/generated
  cp "$out/GENERATED_FROM" proto/GENERATED_FROM
  echo "regenerated Swift and C code from $(ls proto/oms/v1/*.proto | wc -l) proto files"
fi
