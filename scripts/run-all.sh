#!/usr/bin/env bash
# Starts the whole suite: a local nats-server with JetStream (store under
# data/nats), the simulated venues, oms-core and every Swift service, each
# logging to data/run/logs/<name>.log. Ctrl-C (or SIGTERM) stops everything.
#   OMS_CONFIG (default configs/config.yaml), OMS_BIN (default ./bin), NATS_PORT (4222),
#   OMS_DATA_DIR (default ./data: the services' data and the nats-server store under it, nats/)
set -uo pipefail
cd "$(dirname "$0")/.."
CONFIG=${OMS_CONFIG:-configs/config.yaml}
BIN=${OMS_BIN:-./bin}
NATS_PORT=${NATS_PORT:-4222}
RUN=data/run
DATA_DIR=${OMS_DATA_DIR:-data}
mkdir -p "$RUN/logs" "$RUN/pids" "$DATA_DIR/nats"
DATA_DIR=$(cd "$DATA_DIR" && pwd)
export OMS_NATS_URL=${OMS_NATS_URL:-nats://127.0.0.1:$NATS_PORT}

start() {  # start NAME CMD...
  local name=$1; shift
  "$@" >>"$RUN/logs/$name.log" 2>&1 &
  echo $! >"$RUN/pids/$name.pid"
  echo "started $name (pid $!)  log: $RUN/logs/$name.log"
}

cleanup() {
  trap - INT TERM EXIT
  echo; echo "stopping..."
  scripts/stop-all.sh
  exit 0
}
trap cleanup INT TERM EXIT

if (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null; then
  echo "nats-server already listening on :$NATS_PORT; using it"
else
  NATS_BIN=$(command -v nats-server || echo /usr/sbin/nats-server)
  start nats-server "$NATS_BIN" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$DATA_DIR/nats" -m 8222
  for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && break; sleep 0.1; done
fi

[ -x "$BIN/venue-sim" ] && [ -f configs/venue-sim.yaml ] && start venue-sim "$BIN/venue-sim" --config configs/venue-sim.yaml
start oms-core "$BIN/oms-core" --config "$CONFIG"
# The demo trades on venue-sim's demo Ed25519 account (configs/venue-sim.yaml; demo keys only).
# Real deployments set these from the secrets provider (env, *_FILE, Vault).
export BINANCE_SPOT_API_KEY=${BINANCE_SPOT_API_KEY:-demo-ed25519-api-key-00000000000000000000000000000000000000000003}
export BINANCE_SPOT_ED25519_PRIVATE_KEY_FILE=${BINANCE_SPOT_ED25519_PRIVATE_KEY_FILE:-configs/venue-sim-demo-ed25519.pem}
# binance-futures trades USDⓈ-M perpetuals on venue-sim's demo2 account (HMAC; demo keys only).
export BINANCE_FUTURES_API_KEY=${BINANCE_FUTURES_API_KEY:-demo-api-key-0000000000000000000000000000000000000000000000000002}
export BINANCE_FUTURES_API_SECRET=${BINANCE_FUTURES_API_SECRET:-demo-secret-0000000000000000000000000000000000000000000000000002}
for svc in oms-server router binance-spot binance-futures archiver; do
  start "$svc" "$BIN/$svc" --config "$CONFIG"
done

sleep 2
scripts/test-services.sh || echo "(some services are not ready yet; see $RUN/logs)"
echo
echo "mExOms is up. Inspect: $BIN/omsctl tail 'orders.>'  |  $BIN/omsctl services  |  scripts/test-services.sh"
echo "Ctrl-C stops everything."
while true; do
  for f in "$RUN"/pids/*.pid; do
    pid=$(cat "$f"); name=$(basename "$f" .pid)
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "$(date -u +%FT%TZ) $name (pid $pid) exited; last log lines:"; tail -n 5 "$RUN/logs/$name.log"
      rm -f "$f"
    fi
  done
  sleep 2
done
