#!/usr/bin/env bash
# Regenerates proto/testdata/*.bin from the text-format sources *.txtpb with
# protoc --encode (Google's reference encoder: neither of our two languages),
# and writes MANIFEST ("<name> <fully.qualified.Type>" per line). Swift and
# C++ tests decode every vector and must re-encode it byte for byte.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=proto/testdata
: > "$dir/MANIFEST.tmp"
for src in "$dir"/*.txtpb; do
  name=$(basename "$src" .txtpb)
  type=$(sed -n 's/^# type: *//p' "$src" | head -n1)
  [ -n "$type" ] || { echo "missing '# type:' header in $src" >&2; exit 1; }
  { grep -v "^#" "$src" || true; } | protoc -Iproto --encode="$type" proto/oms/v1/*.proto > "$dir/$name.bin"
  echo "$name $type" >> "$dir/MANIFEST.tmp"
done
mv "$dir/MANIFEST.tmp" "$dir/MANIFEST"
echo "golden vectors: $(wc -l < "$dir/MANIFEST")"
