#!/usr/bin/env bash
# make demo: brings the whole suite up exactly as `make run` does
# (scripts/run-all.sh: nats-server, venue-sim, oms-core and every service),
# then a scripted client (bin/omsctl over gRPC) trades on venue-sim for about
# a minute: marketable and resting limit orders, market orders, smart-routed
# (`auto`) orders with both strategies, a few cancels, one order that trips a
# risk limit on purpose; then prints the blotter (every order of this run and
# its state), the positions and the P&L those fills make, and stops the suite.
#   OMS_BIN (default ./bin), OMS_CONFIG (default configs/config.yaml),
#   DEMO_SECONDS (default 60), DEMO_KEEP=1 leaves the suite running afterwards.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${OMS_BIN:-./bin}
CONFIG=${OMS_CONFIG:-configs/config.yaml}
SECONDS_WANTED=${DEMO_SECONDS:-60}
export OMS_TOKEN=${OMS_TOKEN:-demo-token}
SIM_PORT=$(sed -n 's/^port: *\([0-9]*\).*/\1/p' configs/venue-sim.yaml | head -n1)
RUN_ID=$(date -u +%H%M%S)
out=data/run/demo-$RUN_ID; mkdir -p "$out"
n=0

ctl() { "$BIN/omsctl" "$@" --config "$CONFIG"; }
say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
field() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
book() {  # book SYMBOL -> "bid ask"
  curl -sf "http://127.0.0.1:$SIM_PORT/api/v3/ticker/bookTicker?symbol=$1" | field "d['bidPrice'].rstrip('0').rstrip('.') + ' ' + d['askPrice'].rstrip('0').rstrip('.')"
}
px() { python3 -c "print(f'{$1:.2f}')"; }
# order SIDE SYMBOL QTY [omsctl options...]: submits with a run-scoped client id, prints one line, echoes nothing else.
order() {
  local side=$1 sym=$2 qty=$3; shift 3
  n=$((n + 1)); local cid; cid=$(printf 'demo-%s-%02d' "$RUN_ID" "$n")
  local resp; resp=$(ctl submit "$side" "$sym" "$qty" --client-id "$cid" --json "$@" 2>&1)
  local id; id=$(echo "$resp" | field "d['order']['order_id']" 2>/dev/null)
  printf '  %-18s %-4s %-8s %-7s %-34s -> %s\n' "$cid" "$side" "$sym" "$qty" "$*" "${id:-$resp}"
  echo "$id" >>"$out/ids"
  last_id=$id
}
status_of() { ctl order "$1" --json 2>/dev/null | field "d['order']['status'].replace('ORDER_STATUS_', '')"; }
wait_status() { for _ in $(seq 1 50); do case " $2 " in *" $(status_of "$1") "*) return 0;; esac; sleep 0.2; done; return 1; }

# ---- the suite, as `make run` starts it ---------------------------------------------------------
[ -x "$BIN/omsctl" ] && [ -x "$BIN/oms-server" ] || { echo "no binaries in $BIN: run make build (make demo does)"; exit 1; }
say "starting the suite (scripts/run-all.sh; logs in data/run/logs, data in $out/data)"
# A data dir of its own (JetStream store included): venue-sim starts afresh each run, and its trade ids
# would otherwise collide with a previous run's fills inside the streams' duplicate window.
export OMS_DATA_DIR=$out/data
OMS_CONFIG=$CONFIG OMS_BIN=$BIN setsid scripts/run-all.sh >"$out/run-all.log" 2>&1 &
RUNALL=$!
stop_suite() {
  if [ "${DEMO_KEEP:-0}" = 1 ]; then echo "suite left running (pid $RUNALL); stop it with scripts/stop-all.sh"; return; fi
  kill -TERM "$RUNALL" 2>/dev/null; wait "$RUNALL" 2>/dev/null; echo "suite stopped"
}
trap stop_suite EXIT
for _ in $(seq 1 150); do scripts/test-services.sh >/dev/null 2>&1 && break; sleep 0.4; done
scripts/test-services.sh | grep -v binance-futures
# The router needs a book and a connector heartbeat before it can route.
for _ in $(seq 1 50); do [ -n "$(book BTCUSDT 2>/dev/null)" ] && break; sleep 0.2; done
sleep 3
t0=$(date +%s)

say "limit orders on binance.spot (venue-sim)"
read -r bid ask <<<"$(book BTCUSDT)"
order buy BTCUSDT 0.01 --price "$(px "$ask + 5")"                         # marketable: fills
order sell BTCUSDT 0.004 --price "$(px "$bid - 5")"                       # marketable: fills
read -r ebid eask <<<"$(book ETHUSDT)"
order buy ETHUSDT 0.5 --price "$(px "$eask + 1")"
order buy BTCUSDT 0.002 --price "$(px "$bid * 0.97")"; rest1=$last_id     # rests below the market
order buy ETHUSDT 0.3 --price "$(px "$ebid * 0.97")"; rest2=$last_id
order sell BTCUSDT 0.002 --price "$(px "$ask * 1.03")"; rest3=$last_id
order buy ETHUSDT 2 --price "$(px "$eask + 0.03")" --tif ioc            # IOC: takes what rests up to its price (often only part), the rest expires

say "market orders"
order buy BTCUSDT 0.003
order sell ETHUSDT 0.2

say "smart-routed orders (venue auto: the router picks venues from the consolidated book)"
read -r bid ask <<<"$(book BTCUSDT)"
order buy BTCUSDT 0.006 --venue auto --price "$(px "$ask + 3")" --strategy depth-split
order sell BTCUSDT 0.002 --venue auto --strategy best-price               # market, routed
order buy BTCUSDT 0.001 --venue auto --price "$(px "$bid * 0.97")"; rest4=$last_id

say "one order over the risk limit on purpose (max_order_qty for BTCUSDT is 5 in configs/config.yaml)"
order buy BTCUSDT 6 --price "$(px "$bid")"; risky=$last_id

say "cancels"
for id in "$rest1" "$rest3" "$rest4"; do
  wait_status "$id" "ACCEPTED" >/dev/null
  printf '  %s\n' "$(ctl cancel "$id" 2>&1)"
done
wait_status "$risky" "REJECTED" && printf '  risk: %s\n' "$(ctl order "$risky" --json | field "d['order']['reject_reason'] + ' — ' + d['order'].get('reject_text','')")"

say "trading until ${SECONDS_WANTED}s: small orders every 3 s, alternating sides and kinds"
i=0
while [ $(( $(date +%s) - t0 )) -lt $((SECONDS_WANTED - 12)) ]; do
  i=$((i + 1))
  read -r bid ask <<<"$(book BTCUSDT)"
  case $((i % 4)) in
    0) order buy BTCUSDT 0.001 --price "$(px "$ask + 2")" ;;
    1) order sell BTCUSDT 0.001 ;;
    2) order buy BTCUSDT 0.001 --venue auto ;;
    3) order sell ETHUSDT 0.05 --price "$(px "$(book ETHUSDT | cut -d' ' -f1) - 1")" ;;
  esac
  sleep 3
done
sleep 3   # let the last fills land

# ---- blotter, positions, P&L ----------------------------------------------------------------------
ctl orders --all-pages --limit 1000 --json >"$out/orders.json"
: >"$out/orders-full.jsonl"
while read -r id; do [ -n "$id" ] && ctl order "$id" --json >>"$out/orders-full.jsonl" 2>/dev/null; done <"$out/ids"
read -r bid ask <<<"$(book BTCUSDT)"; read -r ebid eask <<<"$(book ETHUSDT)"
python3 - "$out" "demo-$RUN_ID-" "$bid" "$ask" "$ebid" "$eask" <<'PY'
import json, sys
from decimal import Decimal as D
out, prefix = sys.argv[1], sys.argv[2]
marks = {"BTCUSDT": (D(sys.argv[3]) + D(sys.argv[4])) / 2, "ETHUSDT": (D(sys.argv[5]) + D(sys.argv[6])) / 2}
def dec(x):
    if not x: return D(0)
    return D(int(x.get("mantissa", 0))).scaleb(-int(x.get("scale", 0)))
def s(x): return "-" if x is None else (format((x + 0).normalize(), "f") if isinstance(x, D) else str(x))
def table(header, rows):
    w = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = lambda r: "  ".join(c.ljust(w[i]) for i, c in enumerate(r)).rstrip()
    print(line(header)); print(line(["-" * x for x in w]))
    for r in rows: print(line(r))
orders = json.load(open(f"{out}/orders.json")).get("orders", [])
mine = {o["order_id"] for o in orders if o.get("client_order_id", "").startswith(prefix)}
rows = []
parents = sorted((o for o in orders if o["order_id"] in mine), key=lambda o: o["client_order_id"])
kids = {}
for o in orders:
    if o.get("parent_order_id") in mine: kids.setdefault(o["parent_order_id"], []).append(o)
for o in [x for p in parents for x in [p] + sorted(kids.get(p["order_id"], []), key=lambda c: c["order_id"])]:
    child = bool(o.get("parent_order_id"))
    inst = o["instrument"]
    reason = o.get("reject_reason", "").replace("REJECT_REASON_", "")
    rows.append([("  └ " if child else "") + (o.get("client_order_id") if not child else "child " + o["order_id"].rsplit("-", 1)[-1]),
                 f'{inst["exchange"]}.{inst["market"]}', inst["symbol"], o["side"].replace("SIDE_", ""),
                 o["order_type"].replace("ORDER_TYPE_", ""), s(dec(o.get("quantity"))),
                 s(dec(o["price"])) if o.get("price") else "-", s(dec(o.get("filled_quantity"))),
                 s(dec(o["average_price"]).quantize(D("0.01"))) if o.get("average_price") else "-",
                 o["status"].replace("ORDER_STATUS_", ""), reason])
print("\n\033[1m== blotter: every order of this run (routed parents with their child orders └)\033[0m")
table(["CLIENT ID", "VENUE", "SYMBOL", "SIDE", "TYPE", "QTY", "PRICE", "FILLED", "AVG", "STATUS", "REASON"], rows)
by_status = {}
for r in rows:
    if not r[0].startswith("  └"): by_status[r[9]] = by_status.get(r[9], 0) + 1
print("orders by state: " + ", ".join(f"{k} {v}" for k, v in sorted(by_status.items())))

# Fills of this run (parents' fills are their children's; count each trade once).
fills, seen = [], set()
for line in open(f"{out}/orders-full.jsonl"):
    line = line.strip()
    if not line: continue
    d = json.loads(line)
    for f in d.get("fills", []):   # a routed parent's fills are its children's
        i = f["instrument"]
        key = (i["exchange"], i["market"], i["symbol"], f.get("trade_id"))   # venue trade ids are per symbol
        if key in seen: continue
        seen.add(key); fills.append(f)
fills.sort(key=lambda f: int(f.get("ts_event_ns", f.get("ts_ns", 0)) or 0))
# Average-cost P&L per venue and symbol; fees converted to quote at the fill price.
pos = {}
for f in fills:
    k = (f'{f["instrument"]["exchange"]}.{f["instrument"]["market"]}', f["instrument"]["symbol"])
    p = pos.setdefault(k, {"qty": D(0), "cost": D(0), "realised": D(0), "fees": D(0), "bought": D(0), "sold": D(0), "n": 0})
    q, px = dec(f.get("quantity")), dec(f.get("price"))
    fee = dec(f.get("commission"))
    sym = k[1]
    p["fees"] += fee * px if f.get("commission_asset") and sym.startswith(f["commission_asset"]) else fee
    p["n"] += 1
    if f["side"] == "SIDE_BUY":
        p["bought"] += q
        if p["qty"] >= 0: p["cost"] += q * px; p["qty"] += q
        else:
            close = min(q, -p["qty"]); avg = p["cost"] / p["qty"]
            p["realised"] += (avg - px) * close; p["cost"] += avg * close; p["qty"] += close
            if q > close: p["qty"] += q - close; p["cost"] = (q - close) * px
    else:
        p["sold"] += q
        if p["qty"] <= 0: p["cost"] -= q * px; p["qty"] -= q
        else:
            close = min(q, p["qty"]); avg = p["cost"] / p["qty"]
            p["realised"] += (px - avg) * close; p["cost"] -= avg * close; p["qty"] -= close
            if q > close: p["qty"] -= q - close; p["cost"] = -(q - close) * px
print(f"\n\033[1m== positions from this run's {len(fills)} fills\033[0m")
table(["VENUE", "SYMBOL", "FILLS", "BOUGHT", "SOLD", "NET QTY", "AVG COST", "MARK (mid)"],
      [[v, sym, str(p["n"]), s(p["bought"]), s(p["sold"]), s(p["qty"]),
        s((p["cost"] / p["qty"]).quantize(D("0.01"))) if p["qty"] else "-", s(marks.get(sym))] for (v, sym), p in sorted(pos.items())])
print("\n\033[1m== P&L in USDT (average cost; unrealised at venue-sim's mid; fees at the fill price)\033[0m")
rows, tot = [], [D(0)] * 4
for (v, sym), p in sorted(pos.items()):
    unreal = (marks[sym] - p["cost"] / p["qty"]) * p["qty"] if p["qty"] and sym in marks else D(0)
    net = p["realised"] + unreal - p["fees"]
    for i, x in enumerate([p["realised"], unreal, p["fees"], net]): tot[i] += x
    rows.append([v, sym] + [s(x.quantize(D("0.01"))) for x in (p["realised"], unreal, p["fees"], net)])
rows.append(["total", ""] + [s(x.quantize(D("0.01"))) for x in tot])
table(["VENUE", "SYMBOL", "REALISED", "UNREALISED", "FEES", "NET"], rows)
PY
echo
echo "the client traded for $(( $(date +%s) - t0 ))s; details: $out (orders.json, orders-full.jsonl), logs: data/run/logs"
echo "see one order's lifecycle: $BIN/omsctl order <client id>   |   every fill: $BIN/omsctl tail 'trades.>' --pretty"
