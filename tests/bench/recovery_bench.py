#!/usr/bin/env python3
"""Startup-to-ready of every Swift service with 1M events in the streams (issue 7).

Fills a fresh JetStream with an order history shaped like a desk's day
(for each order: the accepted command on COMMANDS, oms-core's risk decision and
every 20th order's routing decision on DECISIONS, NEW and FILLED/CANCELED events on
ORDERS, a fill on TRADES, and account updates on POSITIONS), then for each of
oms-server, router, archiver and binance-spot measures spawn -> /readyz 200:

  cold     first start on the full history (no snapshot/checkpoint of its own yet)
  restart  kill -9 after it caught up, then start again (snapshot + tail)
  tail     kill -9, publish `--tail` more events while it is down, start again

oms-core's own figure (1M events) is in `make bench` section bench-oms-core.

  recovery_bench.py --bin .build/release [--events 1000000] [--tail 20000] [--runs 3]
"""
import argparse
import asyncio
import os
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "faults"))
import fault_suite as fs  # noqa: E402  (Stack, gen_python_protos, http)

SWIFT_SERVICES = ["oms-server", "router", "archiver", "binance-spot"]
SYMBOLS = ["BTCUSDT", "ETHUSDT"]


class History:
    """Protobuf payloads of a synthetic order history, built once per order."""

    def __init__(self, pb, account="demo-1"):
        self.pb, self.account = pb, account
        self.trade_id = 0

    def _inst(self, m, sym):
        m.exchange, m.market, m.symbol = "binance", "spot", sym

    def order_messages(self, i, base_ns, live):
        """(subject, payload, msg_id) for one order's life."""
        pb = self.pb
        sym = SYMBOLS[i % len(SYMBOLS)]
        oid, cid, cmd_id = f"B-{i:08d}", f"bench-{i}", f"cmd-bench-{i}"
        side = pb.common.SIDE_BUY if i % 2 == 0 else pb.common.SIDE_SELL
        ts = base_ns + i * 1000
        out = []

        c = pb.orders.OrderCommand(command_id=cmd_id)
        n = c.new_order
        n.order_id, n.client_order_id, n.account = oid, cid, self.account
        self._inst(n.instrument, sym)
        n.side, n.order_type, n.time_in_force = side, pb.orders.ORDER_TYPE_LIMIT, pb.orders.TIME_IN_FORCE_GTC
        n.quantity.mantissa, n.quantity.scale = 1000 + i % 100, 5
        n.price.mantissa, n.price.scale = 6500000 + i % 50, 2
        n.ts_ns = ts
        out.append((f"cmd.risk.binance.spot.{sym}", c.SerializeToString(), cmd_id))

        d = pb.risk.RiskDecision(decision_id=f"{cmd_id}:risk", command_id=cmd_id, order_id=oid, account=self.account,
                                   result=pb.risk.RISK_DECISION_RESULT_ACCEPTED, command_sequence=i + 1, ts_ns=ts + 10)
        self._inst(d.instrument, sym)
        out.append((f"risk.decisions.binance.spot.{sym}", d.SerializeToString(), f"{cmd_id}:risk"))
        parent = ""
        if i % 20 == 0:  # every 20th order is the child of a routed parent (router and oms-server track those)
            parent = f"P-{i:08d}"
            r = pb.routing.RoutingDecision(decision_id=f"{parent}:route", parent_order_id=parent, account=self.account,
                                           strategy=pb.orders.ROUTING_STRATEGY_BEST_PRICE, side=side, ts_ns=ts + 15)
            r.quantity.CopyFrom(n.quantity)
            a = r.allocations.add(child_order_id=oid)
            self._inst(a.instrument, sym)
            a.quantity.CopyFrom(n.quantity)
            a.limit_price.CopyFrom(n.price)
            out.append((f"routing.decisions.spot.{sym}", r.SerializeToString(), f"{parent}:route"))

        def event(kind, status, filled):
            e = pb.orders.OrderEvent(event_id=f"{oid}:{kind}", event_type=kind, source="bench", ts_event_ns=ts + 20, ts_init_ns=ts + 21)
            o = e.order
            o.order_id, o.client_order_id, o.venue_order_id, o.account = oid, cid, str(10_000_000 + i), self.account
            self._inst(o.instrument, sym)
            o.side, o.order_type, o.time_in_force, o.status = side, n.order_type, n.time_in_force, status
            o.quantity.CopyFrom(n.quantity)
            o.price.CopyFrom(n.price)
            o.filled_quantity.mantissa, o.filled_quantity.scale = (n.quantity.mantissa if filled else 0), 5
            o.leaves_quantity.mantissa, o.leaves_quantity.scale = (0 if filled or status != pb.orders.ORDER_STATUS_ACCEPTED else n.quantity.mantissa), 5
            if filled:
                o.average_price.CopyFrom(n.price)
                e.last_quantity.CopyFrom(n.quantity)
                e.last_price.CopyFrom(n.price)
                e.trade_id = str(self.trade_id)
            o.created_ns, o.updated_ns = ts, ts + 20
            o.parent_order_id = parent
            return e.SerializeToString()

        out.append((f"orders.binance.spot.{sym}", event(pb.orders.ORDER_EVENT_TYPE_ACCEPTED, pb.orders.ORDER_STATUS_ACCEPTED, False), f"{oid}:new"))
        if live:
            return out
        if i % 3 == 0:
            out.append((f"orders.binance.spot.{sym}", event(pb.orders.ORDER_EVENT_TYPE_CANCELED, pb.orders.ORDER_STATUS_CANCELED, False), f"{oid}:cxl"))
            return out
        self.trade_id += 1
        f = pb.trades.Fill(trade_id=str(self.trade_id), order_id=oid, client_order_id=cid, venue_order_id=str(10_000_000 + i),
                           account=self.account, side=side, commission_asset="USDT", liquidity=pb.trades.LIQUIDITY_MAKER,
                           ts_event_ns=ts + 30, ts_init_ns=ts + 31, parent_order_id=parent)
        self._inst(f.instrument, sym)
        f.price.CopyFrom(n.price)
        f.quantity.CopyFrom(n.quantity)
        f.commission.mantissa, f.commission.scale = 65, 4
        out.append((f"trades.binance.spot.{sym}", f.SerializeToString(), f"binance:spot:{sym}:trade:{self.trade_id}"))
        out.append((f"orders.binance.spot.{sym}", event(pb.orders.ORDER_EVENT_TYPE_FILLED, pb.orders.ORDER_STATUS_FILLED, True), f"{oid}:fill"))
        if i % 50 == 1:  # the connector's balance update after fills
            u = pb.positions.AccountUpdate(account=self.account, exchange="binance", market="spot")
            b = u.balances.add(asset="USDT")
            b.free.mantissa, b.free.scale = 10_000_000_000 - i, 8
            out.append(("positions.binance.spot", u.SerializeToString(), f"bal-{i}"))
        return out


async def publish(url, msgs):
    """Core-NATS publishes (the streams capture them), flushed in chunks: ~10x faster than awaiting each ack."""
    import nats
    nc = await nats.connect(url, pending_size=64 * 1024 * 1024)
    t0 = time.monotonic()
    count = 0
    for subject, payload, msg_id in msgs:
        type_name = {"cmd": "oms.v1.OrderCommand", "ris": "oms.v1.RiskDecision", "ord": "oms.v1.OrderEvent",
                     "tra": "oms.v1.Fill", "pos": "oms.v1.AccountUpdate", "rou": "oms.v1.RoutingDecision"}[subject[:3]]
        await nc.publish(subject, payload, headers={"Nats-Msg-Id": msg_id, "Oms-Type": type_name, "Oms-Id": msg_id})
        count += 1
        if count % 20000 == 0:
            await nc.flush(timeout=60)
    await nc.flush(timeout=60)
    await nc.close()
    return count, time.monotonic() - t0


def history(pb, first, events, base_ns):
    h = History(pb)
    h.trade_id = first * 10
    i, n = first, 0
    while n < events:
        live = i % 100 == 99  # 1% of orders still resting at the end of the day
        for m in h.order_messages(i, base_ns, live):
            yield m
            n += 1
        i += 1


def stream_counts(stack):
    import nats

    async def go():
        nc = await nats.connect(f"nats://127.0.0.1:{stack.nats_port}")
        js = nc.jetstream()
        out = {}
        for s in ["COMMANDS", "DECISIONS", "ORDERS", "TRADES", "POSITIONS"]:
            out[s] = (await js.stream_info(s)).state.messages
        await nc.close()
        return out
    return asyncio.run(go())


def settled_counts(stack, published, timeout=120.0):
    """Stream counts once JetStream has stored what was published (core publishes are stored
    asynchronously), or once the total stops growing."""
    t0, last, counts = time.monotonic(), -1, {}
    while time.monotonic() - t0 < timeout:
        counts = stream_counts(stack)
        total = sum(counts.values())
        if total >= published or total == last:
            break
        last = total
        time.sleep(1.0)
    return counts


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=f"{fs.ROOT}/.build/release")
    ap.add_argument("--core", default=f"{fs.ROOT}/cpp-core/build/oms-core")
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--tail", type=int, default=20_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--only", help="comma list of services")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--hold", action="store_true", help="populate, print the config path, then wait (for profiling by hand)")
    args = ap.parse_args()
    args.bin, args.core = os.path.abspath(args.bin), os.path.abspath(args.core)
    services = args.only.split(",") if args.only else SWIFT_SERVICES
    tmp = tempfile.mkdtemp(prefix="oms-recovery-")
    fs.gen_python_protos(f"{tmp}/py")

    class PB:
        pass
    from oms.v1 import common_pb2, orders_pb2, trades_pb2, risk_pb2, routing_pb2, positions_pb2
    pb = PB()
    pb.common, pb.orders, pb.trades, pb.risk, pb.routing, pb.positions = common_pb2, orders_pb2, trades_pb2, risk_pb2, routing_pb2, positions_pb2

    stack = fs.Stack(args, tmp)
    failed = False
    try:
        stack.start_nats()
        stack.start_sim()
        # Any service creates the streams (same config everywhere); the archiver touches no venue.
        stack.start("archiver")
        if stack.wait_ready("archiver", 60) is None:
            sys.exit(f"archiver never became ready; see {tmp}/archiver.log")
        stack.kill9("archiver")
        base_ns = time.time_ns() - 60 * 10**9  # recent: terminal orders are still in oms-server's TTL
        url = f"nats://127.0.0.1:{stack.nats_port}"
        n, secs = asyncio.run(publish(url, history(pb, 0, args.events, base_ns)))
        counts = settled_counts(stack, n)
        print(f"# Startup to ready with {n} events in the streams (published in {secs:.1f} s: "
              + ", ".join(f"{k} {v}" for k, v in counts.items()) + f"); load {open('/proc/loadavg').read().split()[0]}")
        print(f"{'service':<14} {'cold (ms)':>10} {'restart (ms)':>14} {'tail +' + str(args.tail) + ' (ms)':>18}")
        if args.hold:
            import signal
            more = []
            signal.signal(signal.SIGUSR1, lambda *_: more.append(1))
            print(f"config {tmp}/config.yaml  env OMS_NATS_URL={url} OMS_DATA_DIR={tmp}/data; "
                  f"kill -USR1 {os.getpid()} publishes --tail more events; Ctrl-C to stop", flush=True)
            first = args.events
            while True:
                time.sleep(0.2)
                if more:
                    more.clear()
                    asyncio.run(publish(url, history(pb, first, args.tail, base_ns)))
                    first += args.tail
                    print(f"published {args.tail} more events", flush=True)
        next_order = args.events  # order indexes past the history's, for the tails
        stored = n
        for svc in services:
            def timed_start():
                t0 = time.monotonic()
                stack.start(svc)
                if stack.wait_ready(svc, 120) is None:
                    return None
                return (time.monotonic() - t0) * 1000
            cold = timed_start()
            time.sleep(3.0)  # let it catch up and write what it keeps (snapshot, checkpoint)
            restarts, tails = [], []
            for _ in range(args.runs):
                stack.kill9(svc)
                restarts.append(timed_start())
                time.sleep(2.0)
            for _ in range(args.runs):
                stack.kill9(svc)
                m, _ = asyncio.run(publish(url, history(pb, next_order, args.tail, base_ns)))
                next_order += args.tail
                stored += m
                settled_counts(stack, stored)  # the tail is in the streams before the start is timed
                tails.append(timed_start())
                time.sleep(2.0)
            stack.kill9(svc)

            def fmt(xs):
                ok = [x for x in xs if x is not None]
                if len(ok) < len(xs):
                    return "NOT READY"
                ok.sort()
                return f"{ok[len(ok) // 2]:.0f} (max {ok[-1]:.0f})" if len(ok) > 1 else f"{ok[0]:.0f}"
            print(f"{svc:<14} {fmt([cold]):>10} {fmt(restarts):>14} {fmt(tails):>18}")
            if None in [cold] + restarts + tails:
                failed = True
    finally:
        stack.close(failed, args.keep)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
