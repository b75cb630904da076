#!/usr/bin/env bash
# End to end through the whole suite on real processes: a test nats-server,
# venue-sim, oms-core, oms-server, router, binance-spot and archiver, each on
# free ports with a temp data dir; omsctl is the gRPC client. Checks: a fill,
# a partial fill (IOC larger than the venue's best level), a risk reject with
# its reason code, a cancel, a duplicate submit, a bad request, another
# client's orders invisible and untouchable, a direct order to a venue without
# a connector heartbeat rejected VENUE_UNAVAILABLE, a risk limit changed over
# the API and enforced by oms-core, a routed (auto) parent cancelled after a
# router kill -9 + restart, an oms-server kill -9 + restart keeping every
# order's state, and the fill in the archiver's trade log. Exits non-zero on
# any failure.
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
# A second client ("other-token", account other-1) to check isolation between clients.
sed -e "s#127.0.0.1:8765#127.0.0.1:$SIM_PORT#g" -e "s/^  grpc_port: .*/  grpc_port: $GRPC_PORT/" \
    -e '/^    - { name: ops, /a\    - { name: other, sha256: "6c67163bbed989f232b31acc4f04df54b31285bfc01bd022c735b71e041a4754", accounts: [other-1] }' \
    configs/config.yaml > "$tmp/config.yaml"
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

ctl_as() { local tok=$1; shift; "$BIN/omsctl" "$@" --config "$tmp/config.yaml" --api "127.0.0.1:$GRPC_PORT" --token "$tok" --json; }
ctl() { ctl_as demo-token "$@"; }
status_of() { ctl order "$1" 2>/dev/null | field "d.get('order',{}).get('status','')"; }
reason_of() { ctl order "$1" 2>/dev/null | field "d.get('order',{}).get('reject_reason','') + ' ' + d.get('order',{}).get('reject_text','')"; }
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

# 3b. Partial fill: IOC buy of 10 ETH up to 3 ticks above the venue's best ask, more than the levels
#     there hold (venue-sim's liquidity provider quotes 0.5, 0.75, 1, ... per level): some fills, the
#     rest expires. Retried if the book moved away between the look and the order.
partial=0
for i in 1 2 3 4 5 6; do
  ask=$(curl -sf "http://127.0.0.1:$SIM_PORT/api/v3/ticker/bookTicker?symbol=ETHUSDT" | field "f\"{float(d['askPrice']) + 0.03:.2f}\"")
  pid=$(ctl submit buy ETHUSDT 10 --price "$ask" --tif ioc --client-id "e2e-partial-$i" | field "d['order']['order_id']")
  for _ in $(seq 1 50); do
    st=$(status_of "$pid"); case "$st" in ORDER_STATUS_FILLED|ORDER_STATUS_EXPIRED|ORDER_STATUS_CANCELED|ORDER_STATUS_REJECTED) break;; esac; sleep 0.2
  done
  filled=$(ctl order "$pid" | field "d['order'].get('filled_quantity',{}).get('mantissa','0')")
  if [ "$st" = ORDER_STATUS_EXPIRED ] && [ "${filled:-0}" != 0 ]; then partial=1; break; fi
done
check "partial fill: IOC 10 ETH @ $ask filled in part (attempt $i), rest EXPIRED ($st $(reason_of "$pid"))" '[ $partial = 1 ]'
events=$(ctl order "$pid" | field "' '.join(e.get('event_type','') for e in d.get('events',[]))")
check "partial fill: lifecycle $events" 'echo "$events" | grep -q "ORDER_EVENT_TYPE_PARTIALLY_FILLED.*ORDER_EVENT_TYPE_EXPIRED"'
fsum=$(ctl order "$pid" | field "sum(int(f['quantity']['mantissa']) * 10**(8 - int(f['quantity'].get('scale', 0))) for f in d.get('fills',[]))")
osum=$(ctl order "$pid" | field "int(d['order']['filled_quantity']['mantissa']) * 10**(8 - int(d['order']['filled_quantity'].get('scale', 0)))")
check "partial fill: the client sees every fill, adding up to the filled quantity ($fsum = $osum)" '[ "$fsum" = "$osum" ] && [ "$fsum" -lt 1000000000 ]'

# 3c. Another client's orders: invisible and untouchable (NOT_FOUND, never "permission denied", which would leak existence).
out=$(ctl_as other-token order "$fill_id" 2>&1); rc=$?
check "another client's order not visible (order: NOT_FOUND)" '[ $rc = 2 ] && echo "$out" | grep -qiE "not_?found"'
n_other=$(ctl_as other-token orders | field "len(d.get('orders',[]))")
check "another client's order list is empty ($n_other)" '[ "$n_other" = 0 ]'
rest2_id=$(ctl submit buy BTCUSDT 0.001 --price 59000 --client-id e2e-rest-2 | field "d['order']['order_id']")
out=$(ctl_as other-token cancel "$rest2_id" 2>&1); rc=$?
check "another client cannot cancel it (NOT_FOUND)" '[ $rc = 2 ] && echo "$out" | grep -qiE "not_?found"'
out=$(ctl_as other-token submit buy BTCUSDT 0.001 --price 59000 --account demo-1 2>&1); rc=$?
check "another client cannot trade its account (PERMISSION_DENIED)" '[ $rc != 0 ] && echo "$out" | grep -qiE "permission_?denied"'
check "its resting order untouched" 'wait_status "$rest2_id" ORDER_STATUS_ACCEPTED'
ctl cancel "$rest2_id" >/dev/null

# 3d. A direct order to a venue whose connector sends no heartbeat (binance-futures is not started here).
fut_id=$(ctl submit buy BTCUSDT 0.01 --price 60000 --venue binance.futures --client-id e2e-fut-1 | field "d['order']['order_id']")
check "direct order to an unhealthy venue REJECTED" 'wait_status "$fut_id" ORDER_STATUS_REJECTED'
fut=$(ctl order "$fut_id" | field "d['order'].get('reject_reason','') + ' ' + d['order'].get('reject_text','')")
check "with VENUE_UNAVAILABLE and why ($fut)" 'echo "$fut" | grep -q "REJECT_REASON_VENUE_UNAVAILABLE venue binance.futures unavailable"'

# 3f. A routed (auto) parent rests; the router is killed and restarted; cancelling the parent still
#     reaches its live child (the parent/child table is recovered from DECISIONS + ORDERS).
auto_id=$(ctl submit buy BTCUSDT 0.001 --price 59000 --venue auto --client-id e2e-auto-1 | field "d['order']['order_id']")
check "routed parent ACCEPTED (child resting at the venue)" 'wait_status "$auto_id" ORDER_STATUS_ACCEPTED'
child_id=$(ctl order "$auto_id" | field "d.get('children',[{}])[0].get('order_id','')")
kill -9 "$PID_router"; start router "$BIN/router"
rr=0; for _ in $(seq 1 100); do ready router && { rr=1; break; }; sleep 0.2; done
check "router restarted and ready" '[ $rr = 1 ]'
ctl cancel "$auto_id" >/dev/null
check "after the router restart, parent cancel reaches the child ($child_id CANCELED)" 'wait_status "$child_id" ORDER_STATUS_CANCELED'
check "and the parent is CANCELED" 'wait_status "$auto_id" ORDER_STATUS_CANCELED'
check "router log: parents recovered" 'grep -q "parents recovered.*live_parents=1" "$tmp/router.log"'

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
# ... and the other two kinds of archive files exist while trading: the month's P&L with the
# fill's symbol, and an hourly state snapshot (the first one ~10 s after the archiver starts).
for _ in $(seq 1 75); do ls "$tmp"/data/snapshots/*/*/*/*/state.json >/dev/null 2>&1 && grep -qs BTCUSDT "$tmp"/data/reports/*/*/pnl.csv && break; sleep 0.2; done
check "pnl.csv has the fill's symbol" 'grep -qs BTCUSDT "$tmp"/data/reports/*/*/pnl.csv'
check "an hourly snapshot state.json exists" 'ls "$tmp"/data/snapshots/*/*/*/*/state.json >/dev/null 2>&1'

# 8. A risk limit changed over the API is enforced by the real oms-core (and shown by GetRiskLimits).
#    Last: oms-core re-registers the static instruments on a reload (see the README).
ctl_as ops-token risk --set symbol:BTCUSDT/max_order_qty=0.002 >/dev/null
shown=$(ctl risk | field "[l['value'] for l in d['limits'] if l.get('scope')=='symbol:BTCUSDT' and l.get('name')=='max_order_qty'][0]")
check "GetRiskLimits shows the new limit ($shown)" '[ "$shown" = 0.002 ]'
sleep 1   # oms-core applies cmd.control.reload on its control consumer
lim_id=$(ctl submit buy BTCUSDT 0.003 --price 59000 --client-id e2e-limit-1 | field "d['order']['order_id']")
check "order above the lowered limit REJECTED" 'wait_status "$lim_id" ORDER_STATUS_REJECTED'
lim=$(ctl order "$lim_id" | field "d['order'].get('reject_reason','')")
check "with MAX_ORDER_QTY ($lim)" '[ "$lim" = REJECT_REASON_MAX_ORDER_QTY ]'
out=$(ctl risk --set symbol:BTCUSDT/max_order_qty=1 2>&1); rc=$?
check "a non-admin token cannot change limits" '[ $rc != 0 ] && echo "$out" | grep -qiE "permission_?denied"'
out=$(ctl_as ops-token risk --set symbol:BTCUSDT/max_order_qtty=1 2>&1); rc=$?
check "an unknown limit is INVALID_ARGUMENT naming the field" '[ $rc = 2 ] && echo "$out" | grep -q "limits\[0\].name"'

[ $fail = 0 ] && echo "e2e suite: all checks passed" || echo "e2e suite: FAILED"
exit $fail
