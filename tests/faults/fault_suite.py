#!/usr/bin/env python3
"""Fault suite: the whole mExOms stack on a real nats-server and venue-sim, a steady
order flow over the gRPC API, and faults injected at seeded random moments:
kill -9 of every service (then restart), a nats-server restart, and venue faults
(WebSocket drops, REST 5xx and timeouts, 429 then 418, WS API orders refused or
executed with their answer lost, depth gaps). A fifth of the flow trades BTCUSDT perpetuals
through binance-futures, on the same venue account.

Afterwards it checks against venue-sim's own ledger (GET /sim/ledger):
  * every order oms-server accepted reached exactly one terminal state;
  * no order was sent to the venue twice (one venue order per OMS order id);
  * every venue fill is on trades.> once, in trades.jsonl once, and in pnl.csv;
  * the balances published on positions.binance.spot equal the venue's, and the futures
    positions published on positions.binance.futures equal the venue's positions;
  * each restarted service's time from start to /readyz.
Prints a summary table; exits 1 on any loss, duplicate or mismatch.

  fault_suite.py --bin .build/debug --core cpp-core/build/oms-core [--orders N] [--seed S] [--rate R]
"""
import argparse
import asyncio
import collections
import datetime as dt
import glob
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from decimal import Decimal

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVICES = ["oms-core", "oms-server", "router", "binance-spot", "binance-futures", "archiver"]
FUTURES_SHARE = 0.2   # of the flow's orders, on binance.futures BTCUSDT
TERMINAL = {"ORDER_STATUS_FILLED", "ORDER_STATUS_CANCELED", "ORDER_STATUS_REJECTED", "ORDER_STATUS_EXPIRED"}
VENUE_TERMINAL = {"FILLED": "ORDER_STATUS_FILLED", "CANCELED": "ORDER_STATUS_CANCELED",
                  "EXPIRED": "ORDER_STATUS_EXPIRED", "EXPIRED_IN_MATCH": "ORDER_STATUS_EXPIRED",
                  "REJECTED": "ORDER_STATUS_REJECTED"}
API_KEY = "demo-ed25519-api-key-00000000000000000000000000000000000000000003"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def port_open(p):
    try:
        socket.create_connection(("127.0.0.1", p), timeout=0.2).close()
        return True
    except OSError:
        return False


def http(method, url, body=None, timeout=3.0):
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode())
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()
    except Exception as e:  # connection refused while a service restarts
        return 0, str(e)


def gen_python_protos(out):
    """Python classes for proto/ (the one source of contracts), generated per run."""
    from grpc_tools import protoc
    import grpc_tools
    inc = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    os.makedirs(out, exist_ok=True)
    files = sorted(glob.glob(os.path.join(ROOT, "proto/oms/v1/*.proto"))) + [os.path.join(ROOT, "proto/oms/api/v1/oms_api.proto")]
    rc = protoc.main(["protoc", f"-I{ROOT}/proto", f"-I{inc}", f"--python_out={out}", f"--grpc_python_out={out}"] + files)
    if rc != 0:
        sys.exit("protoc failed for the python classes")
    sys.path.insert(0, out)


class Stack:
    """Real processes on free ports with a temp data dir; restartable one by one."""

    def __init__(self, args, tmp):
        self.args, self.tmp = args, tmp
        self.procs = {}
        self.nats_port, self.sim_port, self.grpc_port = free_port(), free_port(), free_port()
        self.http_ports = {s: free_port() for s in SERVICES}
        self.env = dict(os.environ)
        self.env.update({
            "OMS_NATS_URL": f"nats://127.0.0.1:{self.nats_port}", "OMS_DATA_DIR": f"{tmp}/data",
            "OMS_HEARTBEAT_INTERVAL": "200ms", "BINANCE_SPOT_API_KEY": API_KEY,
            "BINANCE_SPOT_ED25519_PRIVATE_KEY_FILE": f"{ROOT}/configs/venue-sim-demo-ed25519.pem",
            # The same venue account trades perpetuals: one ledger holds both markets.
            "BINANCE_FUTURES_API_KEY": API_KEY,
            "BINANCE_FUTURES_ED25519_PRIVATE_KEY_FILE": f"{ROOT}/configs/venue-sim-demo-ed25519.pem",
        })
        for s, p in self.http_ports.items():
            self.env["OMS_HTTP_PORT_" + s.upper().replace("-", "_")] = str(p)
        cfg = open(f"{ROOT}/configs/config.yaml").read().replace("127.0.0.1:8765", f"127.0.0.1:{self.sim_port}")
        lines = []
        for line in cfg.splitlines():
            if line.startswith("  grpc_port:"):
                line = f"  grpc_port: {self.grpc_port}"
            # The flow runs faster than a desk's default throttle; the throttle has its own unit tests.
            line = line.replace('orders_per_second: "50"', 'orders_per_second: "2000"').replace('order_burst: "100"', 'order_burst: "4000"')
            line = line.replace("orders_per_second: 10", "orders_per_second: 200")
            lines.append(line)
        open(f"{tmp}/config.yaml", "w").write("\n".join(lines) + "\n")
        sim = open(f"{ROOT}/configs/venue-sim.yaml").read().splitlines()
        sim = [f"port: {self.sim_port}" if l.startswith("port:") else l for l in sim]
        # An account with a raised order-rate limit (as Binance grants market makers), so the
        # flow can be thousands of orders in a CI-sized run; the connector's limiter follows it.
        sim = [l.replace("ordersPer10s: 100 ", "ordersPer10s: 2000") for l in sim]
        open(f"{tmp}/venue-sim.yaml", "w").write("\n".join(sim) + "\n")
        self.nats_bin = shutil.which("nats-server") or "/usr/sbin/nats-server"

    def log(self, name):
        return open(f"{self.tmp}/{name}.log", "ab")

    def start_nats(self):
        self.procs["nats-server"] = subprocess.Popen(
            [self.nats_bin, "-js", "-a", "127.0.0.1", "-p", str(self.nats_port), "-sd", f"{self.tmp}/nats"],
            stdout=self.log("nats-server"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if port_open(self.nats_port):
                return
            time.sleep(0.05)
        sys.exit("nats-server did not start")

    def start_sim(self):
        self.procs["venue-sim"] = subprocess.Popen([f"{self.args.bin}/venue-sim", "--config", f"{self.tmp}/venue-sim.yaml"],
                                                   stdout=self.log("venue-sim"), stderr=subprocess.STDOUT)
        for _ in range(100):
            if port_open(self.sim_port):
                return
            time.sleep(0.05)
        sys.exit("venue-sim did not start")

    def start(self, svc):
        binary = self.args.core if svc == "oms-core" else f"{self.args.bin}/{svc}"
        self.procs[svc] = subprocess.Popen([binary, "--config", f"{self.tmp}/config.yaml"], env=self.env,
                                           stdout=self.log(svc), stderr=subprocess.STDOUT)

    def ready(self, svc):
        return http("GET", f"http://127.0.0.1:{self.http_ports[svc]}/readyz", timeout=0.5)[0] == 200

    def wait_ready(self, svc, timeout=30.0):
        t0 = time.monotonic()
        while time.monotonic() - t0 < timeout:
            if self.ready(svc):
                return time.monotonic() - t0
            time.sleep(0.01)
        return None

    def kill9(self, name):
        p = self.procs.get(name)
        if p and p.poll() is None:
            p.send_signal(signal.SIGKILL)
            p.wait()

    def stop_all(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)
        for p in self.procs.values():
            try:
                p.wait(timeout=5)
            except Exception:
                pass

    def close(self, failed, keep):
        """Stops every process; keeps the work dir (logs, data) on failure or when asked."""
        self.stop_all()
        if failed or keep:
            print(f"logs and data kept in {self.tmp}")
        else:
            shutil.rmtree(self.tmp, ignore_errors=True)

    def sim(self, method, path, body=None):
        return http(method, f"http://127.0.0.1:{self.sim_port}{path}", body)


def dec(pb, mantissa_scale):
    m, s = mantissa_scale
    pb.mantissa, pb.scale = m, s
    return pb


def to_decimal(d):
    return Decimal(d.mantissa).scaleb(-d.scale) if d is not None else Decimal(0)


class Flow:
    """The order flow: marketable limits and market orders that fill, resting limits that get
    canceled; every call retried with the same client order id until oms-server answers."""

    def __init__(self, stack, rng, n_orders, rate, pb):
        self.stack, self.rng, self.n, self.rate, self.pb = stack, rng, n_orders, rate, pb
        self.accepted = {}        # order_id -> dict(cid, kind, symbol)
        self.by_cid = {}
        self.submit_retries = 0
        self.cancel_retries = 0
        self.refused = collections.Counter()   # gRPC code -> count (final answers that were not acceptance)
        self.retry_reasons = collections.Counter()  # "what:CODE: details" -> retried calls
        self.cancels_sent = 0
        self.mids = {("spot", "BTCUSDT"): Decimal("60000"), ("spot", "ETHUSDT"): Decimal("3000"), ("futures", "BTCUSDT"): Decimal("60000")}
        self.tasks = set()

    def refresh_mids(self):
        for market, sym in self.mids:
            path = "/api/v3/ticker/bookTicker" if market == "spot" else "/fapi/v1/ticker/bookTicker"
            st, body = self.stack.sim("GET", f"{path}?symbol={sym}")
            if st == 200:
                j = json.loads(body)
                self.mids[(market, sym)] = (Decimal(j["bidPrice"]) + Decimal(j["askPrice"])) / 2

    async def call(self, fn, req, what):
        import grpc
        md = (("authorization", "Bearer demo-token"),)
        delay = 0.05
        deadline = time.monotonic() + 120
        while True:
            try:
                return await fn(req, metadata=md, timeout=5)
            except grpc.aio.AioRpcError as e:
                code = e.code()
                retryable = code in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                                     grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN, grpc.StatusCode.CANCELLED,
                                     grpc.StatusCode.RESOURCE_EXHAUSTED)
                if not retryable or time.monotonic() > deadline:
                    self.refused[f"{what}:{code.name}"] += 1
                    return None
                self.retry_reasons[f"{what}:{code.name}: {(e.details() or '')[:70]}"] += 1
                if what == "submit":
                    self.submit_retries += 1
                else:
                    self.cancel_retries += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)

    def new_request(self, i):
        pb = self.pb
        rng = self.rng
        market = "futures" if rng.random() < FUTURES_SHARE else "spot"
        sym = "BTCUSDT" if market == "futures" or rng.random() < 0.75 else "ETHUSDT"
        mid = self.mids[(market, sym)]
        side = rng.choice(["SIDE_BUY", "SIDE_SELL"])
        buy = side == "SIDE_BUY"
        r = rng.random()
        kind = "taker" if r < 0.40 else "market" if r < 0.55 else "resting"
        if market == "futures":   # lot 0.001, tick 0.1, min notional 100 USDT
            qty_scale, px_scale = 3, 1
            qty = Decimal(rng.choice(["0.002", "0.003", "0.004"]))
        else:
            qty_scale, px_scale = (5 if sym == "BTCUSDT" else 4), 2
            qty = Decimal(rng.choice(["0.001", "0.002", "0.003"])) if sym == "BTCUSDT" else Decimal(rng.choice(["0.02", "0.03", "0.05"]))
        req = pb.api.SubmitOrderRequest(client_order_id=f"f{self.seed_tag}-{i}")
        req.instrument.exchange, req.instrument.market, req.instrument.symbol = "binance", market, sym
        req.side = pb.common.Side.Value(side)
        dec(req.quantity, (int(qty.scaleb(qty_scale)), qty_scale))
        if kind == "market":
            req.order_type = pb.orders.OrderType.Value("ORDER_TYPE_MARKET")
        else:
            req.order_type = pb.orders.OrderType.Value("ORDER_TYPE_LIMIT")
            away = Decimal("0.01") if kind == "taker" else Decimal("0.03")
            px = mid * (1 + away) if (buy == (kind == "taker")) else mid * (1 - away)
            dec(req.price, (int(px.scaleb(px_scale)), px_scale))
            req.time_in_force = pb.orders.TimeInForce.Value("TIME_IN_FORCE_GTC")
        return req, kind, sym, market

    async def one(self, i):
        req, kind, sym, market = self.new_request(i)
        resp = await self.call(self.stub.SubmitOrder, req, "submit")
        if resp is None:
            return
        oid = resp.order.order_id
        self.accepted[oid] = {"cid": req.client_order_id, "kind": kind, "symbol": sym, "market": market, "i": i}
        self.by_cid[req.client_order_id] = oid
        if kind == "resting":
            await asyncio.sleep(self.rng.uniform(0.3, 3.0))
            await self.cancel(oid)

    async def cancel(self, oid):
        req = self.pb.api.CancelOrderRequest(reason="fault-suite")
        req.ref.order_id = oid
        self.cancels_sent += 1
        await self.call(self.stub.CancelOrder, req, "cancel")

    async def run(self):
        import grpc
        self.channel = grpc.aio.insecure_channel(f"127.0.0.1:{self.stack.grpc_port}")
        self.stub = self.pb.api_grpc.OmsServiceStub(self.channel)
        self.seed_tag = self.stack.args.seed
        t0 = time.monotonic()
        for i in range(self.n):
            if i % 50 == 0:
                self.refresh_mids()
            t = asyncio.create_task(self.one(i))
            self.tasks.add(t)
            t.add_done_callback(self.tasks.discard)
            await asyncio.sleep(max(0.0, t0 + (i + 1) / self.rate - time.monotonic()))
        while self.tasks:
            await asyncio.gather(*list(self.tasks))

    async def order_state(self, oid):
        req = self.pb.api.GetOrderRequest()
        req.ref.order_id = oid
        resp = await self.call(self.stub.GetOrder, req, "get")
        return None if resp is None else resp


class Faults:
    """The seeded fault schedule, run beside the flow."""

    VENUE = [
        ("ws-drop", {"dropWebSockets": "all"}),
        ("ws-api-refused", {"wsApiErrors": {"count": 2, "status": 503}}),
        ("ws-api-unknown-outcome", {"wsApiUnknown": {"count": 2}}),
        ("rest-5xx", {"restErrors": {"count": 3, "status": 503}}),
        ("rest-timeout", {"restTimeouts": {"count": 2, "ms": 1500}}),
        ("rest-429-then-418", {"throttle": {"count": 2}, "ban": {"count": 1, "seconds": 2}}),
        ("depth-gap", {"depthGap": {"count": 2}}),
    ]

    def __init__(self, stack, rng, duration, rounds, only=None):
        self.stack, self.rng, self.duration = stack, rng, duration
        events = [("kill", s) for s in SERVICES] * rounds + [("nats", "nats-server")] * min(rounds, 1) + [("venue", v) for v in self.VENUE] * rounds
        if only:   # e.g. "oms-core,ws-drop": keep the faults whose name contains one of these
            events = [e for e in events if any(o in (e[1] if e[0] != "venue" else e[1][0]) for o in only.split(","))]
        rng.shuffle(events)
        span = duration * 0.85
        self.schedule = sorted(((rng.uniform(0.5, span), e) for e in events), key=lambda x: x[0])
        self.injected = collections.Counter()
        self.ready_ms = collections.defaultdict(list)
        self.log = []

    async def run(self):
        t0 = time.monotonic()
        for at, (kind, what) in self.schedule:
            await asyncio.sleep(max(0.0, t0 + at - time.monotonic()))
            stamp = f"{time.monotonic() - t0:6.1f}s {dt.datetime.now(dt.timezone.utc).strftime('%H:%M:%S.%f')[:-3]}"
            if kind == "kill":
                self.stack.kill9(what)
                await asyncio.sleep(self.rng.uniform(0.2, 1.5))
                self.stack.start(what)
                ms = await asyncio.to_thread(self.stack.wait_ready, what)
                self.ready_ms[what].append(None if ms is None else ms * 1000)
                self.injected[f"kill -9 {what}"] += 1
                self.log.append(f"{stamp} kill -9 {what}; restarted, ready in {'-' if ms is None else f'{ms*1000:.0f} ms'}")
            elif kind == "nats":
                p = self.stack.procs["nats-server"]
                p.send_signal(signal.SIGTERM)
                await asyncio.to_thread(p.wait)
                await asyncio.sleep(self.rng.uniform(0.5, 1.5))
                self.stack.start_nats()
                self.injected["nats-server restart"] += 1
                self.log.append(f"{stamp} nats-server restarted")
            else:
                name, body = what
                st, _ = await asyncio.to_thread(self.stack.sim, "POST", "/sim/faults", body)
                self.injected[f"venue {name}"] += 1
                self.log.append(f"{stamp} venue fault {name} (HTTP {st})")


async def read_stream(nats_url, subject, pb_type, max_idle=1.5):
    """Every message on `subject` from its stream, with its headers."""
    import nats
    from nats.js.api import DeliverPolicy
    nc = await nats.connect(nats_url)
    js = nc.jetstream()
    out = []
    try:
        sub = await js.subscribe(subject, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL)
        while True:
            try:
                msg = await sub.next_msg(timeout=max_idle)
            except Exception:
                break
            if pb_type is None:
                out.append((msg.subject, msg.headers or {}, msg.data, msg.metadata.sequence.stream))
                continue
            m = pb_type()
            m.ParseFromString(msg.data)
            out.append((msg.subject, msg.headers or {}, m))
        await sub.unsubscribe()
    finally:
        await nc.close()
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=f"{ROOT}/.build/debug")
    ap.add_argument("--core", default=f"{ROOT}/cpp-core/build/oms-core")
    ap.add_argument("--orders", type=int, default=2000)
    ap.add_argument("--rate", type=float, default=40.0, help="orders per second")
    ap.add_argument("--rounds", type=int, default=2, help="times each kill / venue fault is injected (0: a fault-free baseline)")
    ap.add_argument("--seed", type=int, default=int(time.time()) % 100000)
    ap.add_argument("--settle", type=float, default=90.0, help="seconds to wait for every order to end")
    ap.add_argument("--only", help="comma list: inject only faults whose name contains one of these")
    ap.add_argument("--keep", action="store_true", help="keep the temp dir")
    args = ap.parse_args()
    args.bin, args.core = os.path.abspath(args.bin), os.path.abspath(args.core)
    tmp = tempfile.mkdtemp(prefix="oms-faults-")
    print(f"fault suite: seed {args.seed}, {args.orders} orders at {args.rate}/s, {args.rounds} round(s) of faults; work dir {tmp}")
    gen_python_protos(f"{tmp}/py")

    class PB:
        pass
    from oms.v1 import common_pb2, orders_pb2, trades_pb2, positions_pb2
    from oms.api.v1 import oms_api_pb2, oms_api_pb2_grpc
    pb = PB()
    pb.common, pb.orders, pb.trades, pb.positions, pb.api, pb.api_grpc = common_pb2, orders_pb2, trades_pb2, positions_pb2, oms_api_pb2, oms_api_pb2_grpc

    stack = Stack(args, tmp)
    failed = False
    try:
        stack.start_nats()
        stack.start_sim()
        for s in SERVICES:
            stack.start(s)
        for s in SERVICES:
            if stack.wait_ready(s, 60) is None:
                sys.exit(f"{s} never became ready; see {tmp}/{s}.log")
        rng = random.Random(args.seed)
        flow = Flow(stack, random.Random(rng.random()), args.orders, args.rate, pb)
        faults = Faults(stack, random.Random(rng.random()), args.orders / args.rate, args.rounds, args.only)

        async def drive():
            await asyncio.gather(flow.run(), faults.run())
        t0 = time.monotonic()
        asyncio.run(drive())
        flow_s = time.monotonic() - t0
        for line in faults.log:
            print("  " + line)
        failed = verify(stack, flow, faults, pb, args, flow_s)
    finally:
        stack.close(failed, args.keep)
    sys.exit(1 if failed else 0)


def verify(stack, flow, faults, pb, args, flow_s):
    nats_url = stack.env["OMS_NATS_URL"]
    problems = []
    for svc in SERVICES:   # kept with the logs on failure or --keep
        st, body = http("GET", f"http://127.0.0.1:{stack.http_ports[svc]}/metrics")
        if st == 200:
            open(f"{stack.tmp}/{svc}.metrics", "w").write(body)

    # 1. Every accepted order ends, once. Poll oms-server until none is live (or time is up).
    async def states():
        import grpc
        flow.channel = grpc.aio.insecure_channel(f"127.0.0.1:{stack.grpc_port}")
        flow.stub = pb.api_grpc.OmsServiceStub(flow.channel)
        deadline = time.monotonic() + args.settle
        final = {}
        pending = set(flow.accepted)
        while pending and time.monotonic() < deadline:
            for oid in list(pending):
                r = await flow.order_state(oid)
                st = pb.orders.OrderStatus.Name(r.order.status) if r else "NOT_FOUND"
                final[oid] = st
                if r and st == "ORDER_STATUS_REJECTED":
                    text = r.order.reject_text or next((e.reason_text for e in reversed(r.events) if e.reason_text), "")
                    src = next((e.source for e in reversed(r.events)), "")
                    reasons[oid] = f"{pb.orders.RejectReason.Name(r.order.reject_reason).replace('REJECT_REASON_', '')} [{src}]: {text[:70]}"
                if st in TERMINAL:
                    pending.discard(oid)
                elif st in ("ORDER_STATUS_ACCEPTED", "ORDER_STATUS_PARTIALLY_FILLED") and flow.accepted[oid]["kind"] == "resting" \
                        and not flow.accepted[oid].get("recancel"):
                    flow.accepted[oid]["recancel"] = True   # a cancel answered before a restart may need a second ask
                    await flow.cancel(oid)
            if pending:
                await asyncio.sleep(1.0)
        return final
    reasons = {}
    final = asyncio.run(states())
    not_terminal = {o: s for o, s in final.items() if s not in TERMINAL}

    orders_stream = asyncio.run(read_stream(nats_url, "orders.>", pb.orders.OrderEvent))
    trades_stream = asyncio.run(read_stream(nats_url, "trades.>", pb.trades.Fill))
    positions_stream = asyncio.run(read_stream(nats_url, "positions.binance.spot", pb.positions.AccountUpdate))

    terminal_seen = collections.defaultdict(set)
    for _, _, ev in orders_stream:
        st = pb.orders.OrderStatus.Name(ev.order.status)
        if st in TERMINAL:
            terminal_seen[ev.order.order_id].add(st)
    conflicting = {o: s for o, s in terminal_seen.items() if o in flow.accepted and len(s) > 1}
    stream_vs_api = {o for o in flow.accepted if final.get(o) in TERMINAL and final[o] not in terminal_seen.get(o, set())}

    # 2. The venue's ground truth.
    st, body = stack.sim("GET", f"/sim/ledger?apiKey={API_KEY}")
    if st != 200:
        problems.append(f"venue ledger unavailable: HTTP {st}")
        ledger = {"orders": [], "trades": [], "balances": [], "duplicateRejects": 0}
    else:
        ledger = json.loads(body)
    fut = ledger.get("futures") or {"orders": [], "trades": [], "positions": []}
    venue_orders = [dict(o, market="spot") for o in ledger["orders"]] + [dict(o, market="futures") for o in fut["orders"]]
    venue_by_cid = collections.defaultdict(list)
    for o in venue_orders:
        venue_by_cid[o["clientOrderId"]].append(o)
    sent_twice = {c: len(v) for c, v in venue_by_cid.items() if len(v) > 1}
    unknown_at_venue = [c for c in venue_by_cid if c not in flow.accepted]
    status_mismatch = []
    for oid, s in final.items():
        v = venue_by_cid.get(oid)
        if v and s in TERMINAL and VENUE_TERMINAL.get(v[-1]["status"]) != s:
            status_mismatch.append((oid, s, v[-1]["status"]))
        if not v and s in ("ORDER_STATUS_FILLED", "ORDER_STATUS_PARTIALLY_FILLED"):
            status_mismatch.append((oid, s, "absent at venue"))

    # 3. Fills: venue → trades.> → trades.jsonl → pnl.csv, keyed by (market, symbol, venue trade id): the
    # spot and futures venues number their trades independently.
    venue_trades = {(m, t["symbol"], str(t["id"])): t for m, ts in (("spot", ledger["trades"]), ("futures", fut["trades"])) for t in ts}
    stream_count = collections.Counter((f.instrument.market, f.instrument.symbol, f.trade_id) for _, _, f in trades_stream)
    venue_orders_by_id = {(o["market"], o["symbol"], o["orderId"]): o for o in venue_orders}
    def trade_story(k):
        t = venue_trades[k]
        o = venue_orders_by_id.get((k[0], t["symbol"], t["orderId"]), {})
        return (k, o.get("clientOrderId"), o.get("status"), final.get(o.get("clientOrderId")), t["time"])
    fills_lost_stream = [trade_story(k) for k in venue_trades if stream_count[k] == 0]
    fills_dup_stream = {k: n for k, n in stream_count.items() if n > 1}
    fills_unknown_stream = [k for k in stream_count if k not in venue_trades]

    def jsonl_counts():
        c = collections.Counter()
        for path in glob.glob(f"{stack.tmp}/data/logs/*/*/*/trades.jsonl"):
            for line in open(path):
                line = line.strip()
                if line:
                    r = json.loads(line)
                    c[(r["market"], r["symbol"], str(r["trade_id"]))] += 1
        return c

    def pnl_counts():
        trades = collections.Counter()
        for path in glob.glob(f"{stack.tmp}/data/reports/*/*/pnl.csv"):
            rows = [l.strip().split(",") for l in open(path) if l.strip()]
            head = rows[0]
            for r in rows[1:]:
                d = dict(zip(head, r))
                trades[(d["venue"].split(".")[-1], d["symbol"])] += int(d["trades"])
        return trades
    want_by_symbol = collections.Counter(k[:2] for k in venue_trades)
    for _ in range(40):    # the archiver may still be catching up after its last restart
        jl, pnl = jsonl_counts(), pnl_counts()
        if all(jl[k] == 1 for k in venue_trades) and pnl == want_by_symbol:
            break
        time.sleep(0.5)
    fills_lost_jsonl = [trade_story(k) for k in venue_trades if jl[k] == 0]
    fills_dup_jsonl = {k: n for k, n in jl.items() if n > 1}
    pnl_mismatch = {s: (pnl.get(s, 0), want_by_symbol.get(s, 0)) for s in set(pnl) | set(want_by_symbol) if pnl.get(s, 0) != want_by_symbol.get(s, 0)}

    # 4. Balances published on positions.binance.spot vs the venue's.
    last_bal = {}
    for _, _, upd in positions_stream:
        for b in upd.balances:
            last_bal[b.asset] = (to_decimal(b.free), to_decimal(b.locked))
    balance_mismatch = {}
    for b in ledger["balances"]:
        want = (Decimal(b["free"]), Decimal(b["locked"]))
        got = last_bal.get(b["asset"])
        if got is None and want == (Decimal(0), Decimal(0)):
            continue
        if got != want:
            balance_mismatch[b["asset"]] = (got, want)

    # 5. Futures positions published on positions.binance.futures vs the venue's (the last word on each
    # symbol and side; a snapshot read just before a fill may land after it, so read again a few times).
    want_pos = {(p["symbol"], p["positionSide"]): Decimal(p["positionAmt"]) for p in fut["positions"]}
    for _ in range(10):
        last_pos = {}
        for _, _, upd in asyncio.run(read_stream(nats_url, "positions.binance.futures", pb.positions.AccountUpdate, max_idle=0.7)):
            for p in upd.positions:
                last_pos[(p.instrument.symbol, pb.positions.PositionSide.Name(p.position_side).replace("POSITION_SIDE_", ""))] = to_decimal(p.quantity)
        position_mismatch = {k: (last_pos.get(k, Decimal(0)), want_pos.get(k, Decimal(0))) for k in set(last_pos) | set(want_pos)
                             if last_pos.get(k, Decimal(0)) != want_pos.get(k, Decimal(0))}
        if not position_mismatch:
            break
        time.sleep(1.0)

    # Summary.
    n_acc = len(flow.accepted)
    lost = len(not_terminal) + len(fills_lost_stream) + len(fills_lost_jsonl)
    dup = len(conflicting) + len(sent_twice) + len(fills_dup_stream) + len(fills_dup_jsonl)
    mismatch = len(status_mismatch) + len(unknown_at_venue) + len(fills_unknown_stream) + len(pnl_mismatch) + len(balance_mismatch) + \
        len(position_mismatch) + len(stream_vs_api)
    by_state = collections.Counter(final.values())
    print()
    print("faults injected")
    for k, v in sorted(faults.injected.items()):
        print(f"  {k:<34}{v:>6}")
    print(f"  {'total':<34}{sum(faults.injected.values()):>6}")
    print("restart → ready (ms)")
    for s in SERVICES:
        ms = [m for m in faults.ready_ms.get(s, []) if m is not None]
        never = sum(1 for m in faults.ready_ms.get(s, []) if m is None)
        print(f"  {s:<34}{', '.join(f'{m:.0f}' for m in ms) or '-'}{'  (never ready: ' + str(never) + ')' if never else ''}")
    print("orders")
    rows = [("submitted", flow.n), ("accepted by oms-server", n_acc), ("  retried submits", flow.submit_retries),
            ("  refused (final answer)", sum(flow.refused.values())), ("cancels sent", flow.cancels_sent)]
    rows += [(f"  ended {s.replace('ORDER_STATUS_', '')}", c) for s, c in sorted(by_state.items())]
    rows += [(f"    {r[:60]}", c) for r, c in collections.Counter(r[:60] for r in reasons.values()).most_common(8)]
    when = collections.Counter(int(flow.accepted[o]["i"] / flow.rate) for o in reasons)
    rows += [("    rejects by second of flow", " ".join(f"{k}s:{v}" for k, v in sorted(when.items())))]
    rows += [("  of them futures", sum(1 for o in flow.accepted.values() if o["market"] == "futures"))]
    rows += [("venue orders (spot, futures)", f"{len(ledger['orders'])}, {len(fut['orders'])}"),
             ("venue duplicate-id refusals", ledger.get("duplicateRejects", 0)),
             ("venue fills", len(venue_trades)), ("fills on trades.>", sum(stream_count.values())),
             ("fills in trades.jsonl", sum(jl.values())), ("fills in pnl.csv", sum(pnl.values())),
             ("flow duration (s)", f"{flow_s:.1f}")]
    for k, v in rows:
        print(f"  {k:<34}{v:>6}")
    print("checks")
    checks = [
        ("orders without a terminal state (lost)", len(not_terminal)),
        ("orders with two terminal states", len(conflicting)),
        ("terminal state missing from orders.>", len(stream_vs_api)),
        ("orders sent to the venue twice", len(sent_twice)),
        ("venue orders the OMS never accepted", len(unknown_at_venue)),
        ("OMS state differs from venue", len(status_mismatch)),
        ("venue fills missing on trades.>", len(fills_lost_stream)),
        ("fills duplicated on trades.>", len(fills_dup_stream)),
        ("fills on trades.> unknown to venue", len(fills_unknown_stream)),
        ("venue fills missing in trades.jsonl", len(fills_lost_jsonl)),
        ("fills duplicated in trades.jsonl", len(fills_dup_jsonl)),
        ("symbols whose pnl.csv trade count differs", len(pnl_mismatch)),
        ("assets whose balance differs from venue", len(balance_mismatch)),
        ("futures positions that differ from venue", len(position_mismatch)),
    ]
    for k, v in checks:
        print(f"  {k:<44}{v:>6}  {'ok' if v == 0 else 'FAIL'}")
    details = [("not terminal", not_terminal), ("conflicting", conflicting), ("missing on orders.>", sorted(stream_vs_api)),
               ("sent twice", sent_twice), ("unknown at venue", unknown_at_venue), ("state mismatch", status_mismatch),
               ("fills lost on stream", fills_lost_stream), ("fills dup on stream", fills_dup_stream),
               ("fills unknown", fills_unknown_stream), ("fills lost in jsonl", fills_lost_jsonl),
               ("fills dup in jsonl", fills_dup_jsonl), ("pnl mismatch", pnl_mismatch), ("balance mismatch", balance_mismatch),
               ("position mismatch", position_mismatch),
               ("refused", dict(flow.refused)), ("retried because", dict(flow.retry_reasons.most_common(6)))]
    for name, d in details:
        if d:
            items = list(d.items())[:10] if isinstance(d, dict) else list(d)[:10]
            print(f"  {name}: {items}")
    story_ids = list(not_terminal)[:3] + sorted(stream_vs_api)[:3] + [m[0] for m in status_mismatch[:3]]
    events_by_order = collections.defaultdict(list)
    for subj, hdr, ev in orders_stream:
        events_by_order[ev.order.order_id].append(ev)
    raw = []
    if story_ids:
        for subj in ("cmd.>", "risk.decisions.>", "routing.decisions.>"):
            try:
                raw += asyncio.run(read_stream(nats_url, subj, None, max_idle=0.5))
            except Exception as e:
                print(f"  (cannot read {subj}: {e})")
    for oid in dict.fromkeys(story_ids):
        v = venue_by_cid.get(oid)
        print(f"  story {oid} ({flow.accepted.get(oid, {}).get('kind')}), venue: {v[-1]['status'] if v else 'absent'}")
        for ev in events_by_order.get(oid, []):
            print(f"      {ev.source:<13}{pb.orders.OrderEventType.Name(ev.event_type):<36}{pb.orders.OrderStatus.Name(ev.order.status):<30}{ev.reason_text[:60]}")
        for subj, hdr, data, seq in raw:
            if oid.encode() in data:
                extra = ""
                if hdr.get("Oms-Type") == "oms.v1.RiskDecision":
                    from oms.v1 import risk_pb2
                    d = risk_pb2.RiskDecision()
                    d.ParseFromString(data)
                    extra = (f"{risk_pb2.RiskDecisionResult.Name(d.result)} {d.reason_text[:50]} (command seq {d.command_sequence}, "
                             f"at {dt.datetime.fromtimestamp(d.ts_ns / 1e9, dt.timezone.utc).strftime('%H:%M:%S.%f')[:-3]})")
                print(f"      seq {seq:<6} {subj:<40} {hdr.get('Oms-Type', '')} {hdr.get('Nats-Msg-Id', '')} {extra}")
    print(f"summary: faults {sum(faults.injected.values())}, orders {n_acc}, lost {lost}, duplicated {dup}, mismatched {mismatch}")
    for p in problems:
        print(f"  problem: {p}")
    bad = bool(problems) or lost + dup + mismatch > 0 or n_acc == 0 or any(m is None for v in faults.ready_ms.values() for m in v)
    print("fault suite: " + ("FAILED" if bad else "passed"))
    return bad


if __name__ == "__main__":
    main()
