#!/usr/bin/env bash
# USDⓈ-M perpetuals through the whole suite on real processes: nats-server, venue-sim (with /fapi), oms-core,
# router, oms-server, binance-futures, each on free ports with a temp data dir; omsctl is the gRPC client.
# Checks: the connector verified its leverage / margin settings, a market buy on binance.futures fills, the
# position (leverage, margin type, liquidation price) appears on positions.binance.futures, a reduce-only sell
# closes it, a resting limit is canceled, a reduce-only order with no position is rejected (by oms-core's risk check, before the venue's -2022),
# and a funding settlement (simulated time advanced 8 h) reaches the archiver's funding.jsonl once and pnl.csv's
# funding column. Exits non-zero on any failure.
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
export BINANCE_FUTURES_API_KEY=demo-api-key-0000000000000000000000000000000000000000000000000002
export BINANCE_FUTURES_API_SECRET=demo-secret-0000000000000000000000000000000000000000000000000002
SERVICES="oms-core oms-server router binance-futures archiver"
for s in $SERVICES; do export "OMS_HTTP_PORT_$(echo $s | tr 'a-z-' 'A-Z_')=$(port)"; done
start() { local s=$1 b=$2; "$b" --config "$tmp/config.yaml" >>"$tmp/$s.log" 2>&1 & pids+=($!); }
start oms-core "$CORE"; start router "$BIN/router"; start binance-futures "$BIN/binance-futures"; start oms-server "$BIN/oms-server"
start archiver "$BIN/archiver"
ready() { local v="OMS_HTTP_PORT_$(echo $1 | tr 'a-z-' 'A-Z_')"; curl -sf -m 1 "http://127.0.0.1:${!v}/readyz" >/dev/null; }
for _ in $(seq 1 150); do all=1; for s in $SERVICES; do ready $s || all=0; done; [ $all = 1 ] && break; sleep 0.2; done
check "every service ready" '[ $all = 1 ]'
check "binance-futures verified leverage/margin settings" 'grep -q "futures settings verified" "$tmp/binance-futures.log"'

ctl() { "$BIN/omsctl" "$@" --config "$tmp/config.yaml" --api "127.0.0.1:$GRPC_PORT" --token demo-token --json; }
status_of() { ctl order "$1" 2>/dev/null | field "d.get('order',{}).get('status','')"; }
wait_status() { for _ in $(seq 1 100); do [ "$(status_of "$1")" = "$2" ] && return 0; sleep 0.2; done; return 1; }
positions() { timeout 8 "$BIN/omsctl" tail 'positions.binance.futures' --server "$OMS_NATS_URL" -c 1 2>/dev/null; }

# 1. A market buy on the perpetual fills; the position shows up with leverage and margin type from config.
buy=$(ctl submit buy BTCUSDT 0.01 --price 61000 --venue binance.futures --client-id fut-open-1)
buy_id=$(echo "$buy" | field "d['order']['order_id']")
check "futures buy accepted" '[ -n "$buy_id" ]'
check "futures buy FILLED" 'wait_status "$buy_id" ORDER_STATUS_FILLED'
# qty of BTCUSDT (in units of 1e-8) and its leverage/margin type from the next AccountUpdate
posq() { positions | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line).get("message", {})
    for p in m.get("positions", []):
        if p["instrument"]["symbol"] == "BTCUSDT":
            q = p.get("quantity", {}); print(int(q.get("mantissa", "0")) * 10 ** (8 - int(q.get("scale", 8))), p.get("leverage"), p.get("margin_type"), p.get("liquidation_price", {}).get("mantissa", "0"))
'; }
pos=""; for _ in $(seq 1 6); do pos=$(posq); [ "${pos%% *}" = 1000000 ] && break; done
check "position 0.01 on positions.binance.futures, 10x CROSSED (qty lev type liq: $pos)" '[ "$(echo $pos | cut -d" " -f1-3)" = "1000000 10 MARGIN_TYPE_CROSSED" ]'

# 2. A resting limit far from the market, then cancel.
rest_id=$(ctl submit buy BTCUSDT 0.01 --price 58000 --venue binance.futures --client-id fut-rest-1 | field "d['order']['order_id']")
check "futures limit ACCEPTED at the venue" 'wait_status "$rest_id" ORDER_STATUS_ACCEPTED'
ctl cancel "$rest_id" >/dev/null
check "futures cancel reaches CANCELED" 'wait_status "$rest_id" ORDER_STATUS_CANCELED'

# 2b. Fills and positions.binance.futures roll into oms-core: a reduce-only sell larger than the position is
#     refused there, before the venue, with oms-core's futures reduce-only text.
over_id=$(ctl submit sell BTCUSDT 0.02 --price 59000 --venue binance.futures --reduce-only --client-id fut-over-1 | field "d['order']['order_id']")
check "reduce-only larger than the position REJECTED" 'wait_status "$over_id" ORDER_STATUS_REJECTED'
over_why=$(ctl order "$over_id" | field "d['order'].get('reject_text','')")
check "by oms-core's futures check: $over_why" 'case "$over_why" in *"reduce-only qty 0.020 > position 0.010"*) true;; *) false;; esac'

# 3. A reduce-only sell closes the position.
close_id=$(ctl submit sell BTCUSDT 0.01 --price 59000 --venue binance.futures --reduce-only --client-id fut-close-1 | field "d['order']['order_id']")
check "reduce-only close FILLED" 'wait_status "$close_id" ORDER_STATUS_FILLED'
pos=""; for _ in $(seq 1 6); do pos=$(posq); [ "${pos%% *}" = 0 ] && break; done
check "position flat again ($pos)" '[ "${pos%% *}" = 0 ]'
# 4. A reduce-only sell with nothing to reduce is rejected (by oms-core, before the venue's -2022).
bad_id=$(ctl submit sell BTCUSDT 0.01 --price 59000 --venue binance.futures --reduce-only --client-id fut-bad-1 | field "d['order']['order_id']")
check "reduce-only without a position REJECTED" 'wait_status "$bad_id" ORDER_STATUS_REJECTED'
why=$(ctl order "$bad_id" | field "d['order'].get('reject_text','')")
check "with a reason for the client: $why" '[ -n "$why" ]'

# 5. Funding (last: the venue's clock jumps 8 h): a new long, then venue-sim's simulated time crosses a funding
#    boundary (F = I > 0: the long pays). binance-futures reads the payment from /fapi/v1/income and publishes
#    it on positions.binance.futures;
#    the archiver writes it once to funding.jsonl; `archiver report` puts it in pnl.csv's funding column.
fund_id=$(ctl submit buy BTCUSDT 0.01 --price 61000 --venue binance.futures --client-id fut-fund-1 | field "d['order']['order_id']")
check "long for funding FILLED" 'wait_status "$fund_id" ORDER_STATUS_FILLED'
curl -sf -X POST "http://127.0.0.1:$SIM_PORT/sim/futures/advance" -d '{"ms":28800000}' >/dev/null
fund=""; for _ in $(seq 1 75); do fund=$(cat "$tmp"/data/logs/*/*/*/funding.jsonl 2>/dev/null); [ -n "$fund" ] && break; sleep 0.2; done
sleep 1; fund=$(cat "$tmp"/data/logs/*/*/*/funding.jsonl 2>/dev/null)
check "funding payment archived once in funding.jsonl" '[ "$(echo "$fund" | grep -c "\"symbol\":\"BTCUSDT\"")" = 1 ]'
famt=$(echo "$fund" | head -n1 | field "d['amount']" 2>/dev/null)
check "the long paid funding: $famt USDT" 'case "$famt" in -0.0*[1-9]*|-[1-9]*) true;; *) false;; esac'
fmonth=$(echo "$fund" | head -n1 | field "d['time'][:7]" 2>/dev/null)
"$BIN/archiver" report --config "$tmp/config.yaml" --month "$fmonth" >>"$tmp/archiver.log" 2>&1
pnl_funding=$(python3 - "$tmp/data/reports/${fmonth/-//}/pnl.csv" "$famt" <<'PY'
import csv, sys
from decimal import Decimal  # exact decimal strings, as pnl.csv writes them
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r["venue"] == "binance.futures" and r["symbol"] == "BTCUSDT"]
funding = sum((Decimal(r["funding"]) for r in rows), Decimal(0))
net_ok = all(Decimal(r["net_pnl_incl_funding"]) == Decimal(r["net_pnl"]) + Decimal(r["funding"]) for r in rows)
print("ok" if rows and funding == Decimal(sys.argv[2]) and net_ok else "mismatch", funding)
PY
)
check "pnl.csv funding column = the payment, net_pnl_incl_funding = net_pnl + funding ($pnl_funding)" '[ "${pnl_funding%% *}" = ok ]'

[ $fail = 0 ] && echo "e2e futures: all checks passed" || echo "e2e futures: FAILED"
exit $fail
