#!/usr/bin/env bash
# End to end through the whole suite on real processes: a test nats-server,
# venue-sim, oms-core, oms-server, router, binance-spot and archiver, each on
# free ports with a temp data dir; omsctl is the gRPC client. Checks: a fill,
# a risk reject with its reason code, a cancel, a duplicate submit, a bad
# request, an oms-server kill -9 + restart keeping every order's state, and the
# fill in the archiver's trade log. Exits non-zero on any failure.
#   BIN (default .build/debug), CORE (default cpp-core/build/oms-core)
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/debug}
CORE=${CORE:-cpp-core/build/oms-core}
tmp=$(mktemp -d); pids=(); fail=0
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; wait 2>/dev/null; [ $fail = 0 ] && rm -rf "$tmp" || echo "logs kept in $tmp"; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0; sleep 0.1; done; return 1; }
check() { if eval "$2"; then echo "PASS $1"; else echo "FAIL $1"; fail=1; fi; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

NATS_PORT=$(port); SIM_PORT=$(port); GRPC_PORT=$(port)
"$(command -v nats-server || echo /usr/sbin/nats-server)" -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$tmp/nats" >"$tmp/nats.log" 2>&1 & pids+=($!)
wait_port "$NATS_PORT" || { echo "nats-server did not start"; exit 1; }
sed "s/^port: .*/port: $SIM_PORT/" configs/venue-sim.yaml > "$tmp/venue-sim.yaml"
"$BIN/venue-sim" --config "$tmp/venue-sim.yaml" >"$tmp/venue-sim.log" 2>&1 & pids+=($!)
wait_port "$SIM_PORT" || { echo "venue-sim did not start"; exit 1; }
sed -e "s#127.0.0.1:8765#127.0.0.1:$SIM_PORT#g" -e "s/^  grpc_port: .*/  grpc_port: $GRPC_PORT/" configs/config.yaml > "$tmp/config.yaml"
export OMS_NATS_URL=nats://127.0.0.1:$NATS_PORT OMS_DATA_DIR=$tmp/data OMS_HEARTBEAT_INTERVAL=200ms
export BINANCE_SPOT_API_KEY=demo-ed25519-api-key-00000000000000000000000000000000000000000003
export BINANCE_SPOT_ED25519_PRIVATE_KEY_FILE=configs/venue-sim-demo-ed25519.pem
for s in oms-core oms-server router binance-spot binance-futures archiver; do
  export "OMS_HTTP_PORT_$(echo $s | tr 'a-z-' 'A-Z_')=$(port)"
done
start() { local s=$1 b=$2; "$b" --config "$tmp/config.yaml" >>"$tmp/$s.log" 2>&1 & pids+=($!); eval "PID_${s//-/_}=$!"; }
start oms-core "$CORE"; start router "$BIN/router"; start binance-spot "$BIN/binance-spot"
start archiver "$BIN/archiver"; start oms-server "$BIN/oms-server"
ready() { local v="OMS_HTTP_PORT_$(echo $1 | tr 'a-z-' 'A-Z_')"; curl -sf -m 1 "http://127.0.0.1:${!v}/readyz" >/dev/null; }
for _ in $(seq 1 150); do all=1; for s in oms-core oms-server router binance-spot archiver; do ready $s || all=0; done; [ $all = 1 ] && break; sleep 0.2; done
check "every service ready" '[ $all = 1 ]'

ctl() { "$BIN/omsctl" "$@" --config "$tmp/config.yaml" --api "127.0.0.1:$GRPC_PORT" --token demo-token --json; }
status_of() { ctl order "$1" 2>/dev/null | field "d.get('order',{}).get('status','')"; }
wait_status() { for _ in $(seq 1 100); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }

# 1. A marketable limit order fills on venue-sim.
out=$(ctl submit buy BTCUSDT 0.001 --price 60100 --client-id e2e-fill-1)
fill_id=$(echo "$out" | field "d['order']['order_id']")
check "submit accepted durably" '[ -n "$fill_id" ]'
check "order FILLED on the venue" 'wait_status "$fill_id" ORDER_STATUS_FILLED'

# 2. Risk reject with its reason code, visible to the client.
rej_id=$(ctl submit buy BTCUSDT 50 --price 60000 --client-id e2e-big-1 | field "d['order']['order_id']")
check "risk reject REJECTED" 'wait_status "$rej_id" ORDER_STATUS_REJECTED'
reason=$(ctl order "$rej_id" | field "d['order'].get('reject_reason','')")
check "reject reason MAX_ORDER_QTY reaches the client ($reason)" '[ "$reason" = REJECT_REASON_MAX_ORDER_QTY ]'

# 3. A resting order, then cancel.
rest_id=$(ctl submit buy BTCUSDT 0.001 --price 59000 --client-id e2e-rest-1 | field "d['order']['order_id']")
check "resting order ACCEPTED at the venue" 'wait_status "$rest_id" ORDER_STATUS_ACCEPTED'
ctl cancel "$rest_id" >/dev/null
check "cancel reaches CANCELED" 'wait_status "$rest_id" ORDER_STATUS_CANCELED'

# 4. Duplicate submit: the same order, not a second one.
dup_id=$(ctl submit buy BTCUSDT 0.001 --price 60100 --client-id e2e-fill-1 | field "d['order']['order_id']")
check "duplicate submit returns the same order" '[ "$dup_id" = "$fill_id" ]'

# 5. A bad request is refused with a field-level message.
bad=$(ctl submit buy BTCUSDT -1 --price 60000 2>&1); rc=$?
check "invalid quantity refused (INVALID_ARGUMENT)" '[ $rc != 0 ] && echo "$bad" | grep -qi quantity'

# 6. oms-server kill -9 and restart: every order keeps its state.
kill -9 "$PID_oms_server"; start oms-server "$BIN/oms-server"
for _ in $(seq 1 100); do ready oms-server && break; sleep 0.2; done
check "after restart: filled order still FILLED" 'wait_status "$fill_id" ORDER_STATUS_FILLED'
check "after restart: rejected order still REJECTED" 'wait_status "$rej_id" ORDER_STATUS_REJECTED'
check "after restart: canceled order still CANCELED" 'wait_status "$rest_id" ORDER_STATUS_CANCELED'

# 7. The fill is in the archiver's trade log exactly once.
for _ in $(seq 1 50); do n=$(cat "$tmp"/data/logs/*/*/*/trades.jsonl 2>/dev/null | grep -c "\"order_id\":\"$fill_id\""); [ "${n:-0}" -ge 1 ] && break; sleep 0.2; done
check "fill archived once in trades.jsonl (found ${n:-0})" '[ "${n:-0}" = 1 ]'

[ $fail = 0 ] && echo "e2e suite: all checks passed" || echo "e2e suite: FAILED"
exit $fail
