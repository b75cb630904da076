#!/usr/bin/env bash
# binance-spot's market-data hot path (depth parse + book apply, where the time goes) and the
# connector added latency (command received -> request bytes written, p50/p99) against a local
# venue-sim and nats-server started here. Called by scripts/bench.sh (make bench).
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
"$BIN/binance-spot" --bench
echo

tmp=$(mktemp -d); pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; rm -rf "$tmp"; }
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
[ -x "$BIN/venue-sim" ] || { echo "(latency bench skipped: $BIN/venue-sim not built)"; exit 0; }
NATS_PORT=$(free_port); SIM_PORT=$(free_port)
mkdir -p "$tmp/js"
printf 'listen: "127.0.0.1:%s"\njetstream { store_dir: "%s" }\n' "$NATS_PORT" "$tmp/js" > "$tmp/nats.conf"
"$(command -v nats-server || echo /usr/sbin/nats-server)" -c "$tmp/nats.conf" >"$tmp/nats.log" 2>&1 & pids+=($!)
# The bench sends orders back to back: lift the per-10s order limit of the demo account for it.
sed -e "s/^port: .*/port: $SIM_PORT/" -e "s/^\(  ordersPer10s:\) *[0-9]*/\1 100000/" configs/venue-sim.yaml > "$tmp/venue-sim.yaml"
"$BIN/venue-sim" --config "$tmp/venue-sim.yaml" --log-level error >"$tmp/venue-sim.log" 2>&1 & pids+=($!)
wait_port "$NATS_PORT" && wait_port "$SIM_PORT" || { echo "(latency bench skipped: nats-server/venue-sim did not start)"; exit 0; }
# venue-sim's demo Ed25519 account (configs/venue-sim.yaml; demo keys only, as in make run).
BINANCE_SPOT_API_KEY=demo-ed25519-api-key-00000000000000000000000000000000000000000003 \
BINANCE_SPOT_ED25519_PRIVATE_KEY_FILE=configs/venue-sim-demo-ed25519.pem \
  "$BIN/binance-spot" --bench-latency --bench-nats "nats://127.0.0.1:$NATS_PORT" --bench-venue "http://127.0.0.1:$SIM_PORT" \
  --bench-orders "${BENCH_SPOT_LATENCY_ORDERS:-500}"
