#!/usr/bin/env python3
"""venue-sim USDⓈ-M futures acceptance: unmodified ccxt `binanceusdm` (plus `websockets` for the /public and
/private streams) against a freshly started venue-sim with a futures section. Exits non-zero on failure.

usage: binance_usdm_acceptance.py /path/to/venue-sim
"""
import asyncio, json, os, signal, subprocess, sys, tempfile, time, traceback, urllib.request

import ccxt
import websockets

KEY, SECRET = "usdm-key-" + "a" * 55, "usdm-secret-" + "b" * 52
SYM, MID = "BTC/USDT:USDT", 60000
results = []


def check(name, fn):
    try:
        detail = fn()
        results.append((name, True, detail or ""))
        print(f"PASS {name} {detail or ''}")
    except Exception as e:  # noqa: BLE001
        results.append((name, False, repr(e)))
        print(f"FAIL {name}: {e!r}")
        traceback.print_exception(e, chain=False, limit=-3)


def start(binary, tmp):
    cfg = f"""host: 127.0.0.1
port: 0
seed: 11
liquidity: {{ levels: 10, quantity: "0.5", intervalMs: 300, volatilityTicks: 1 }}
accounts:
  - name: usdm
    apiKey: {KEY}
    secretKey: {SECRET}
    balances: {{ USDT: "100000", BTC: "1" }}
    futuresBalances: {{ USDT: "10000" }}
symbols:
  - {{ symbol: BTCUSDT, baseAsset: BTC, quoteAsset: USDT, mid: "60000", tickSize: "0.01", stepSize: "0.00001" }}
futures:
  symbols:
    - {{ symbol: BTCUSDT, baseAsset: BTC, quoteAsset: USDT, mid: "{MID}", tickSize: "0.1", stepSize: "0.001", minQty: "0.001", maxQty: "1000", minNotional: "100" }}
    - {{ symbol: ETHUSDT, baseAsset: ETH, quoteAsset: USDT, mid: "3000", tickSize: "0.01", stepSize: "0.001", minQty: "0.001", minNotional: "20" }}
"""
    path = os.path.join(tmp, "venue-sim.yaml")
    open(path, "w").write(cfg)
    port_file = os.path.join(tmp, "port")
    proc = subprocess.Popen([binary, "--config", path, "--port-file", port_file, "--log-level", "warning"])
    for _ in range(200):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return proc, int(open(port_file).read())
        if proc.poll() is not None:
            raise SystemExit("venue-sim exited early")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("venue-sim did not start")


def admin(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(), method="POST")
    return json.loads(urllib.request.urlopen(req).read())


def exchange(port):
    ex = ccxt.binanceusdm({
        "apiKey": KEY, "secret": SECRET, "enableRateLimit": False,
        "options": {"adjustForTimeDifference": False, "warnOnFetchOpenOrdersWithoutSymbol": False},
    })
    # default options: load_markets also fetches currencies from the spot host (/sapi/v1/capital/config/getall)
    for k, v in list(ex.urls["api"].items()):
        for host in ("https://fapi.binance.com", "https://api.binance.com"):
            if isinstance(v, str) and v.startswith(host):
                ex.urls["api"][k] = v.replace(host, f"http://127.0.0.1:{port}")
    return ex


def expect_error(fn, code):
    try:
        fn()
    except ccxt.BaseError as e:
        assert f'"code":{code}' in str(e).replace(" ", ""), (code, str(e))
        return
    raise AssertionError(f"expected error {code}")


def run_ccxt(port):
    ex = exchange(port)
    st = {}

    def load():
        m = ex.load_markets()
        assert SYM in m, list(m)[:5]
        b = m[SYM]
        assert b["swap"] and b["linear"] and b["settle"] == "USDT" and b["contractSize"] == 1, b
        assert b["precision"]["price"] == 0.1 and b["precision"]["amount"] == 0.001, b["precision"]
        assert b["limits"]["amount"]["min"] == 0.001 and b["limits"]["cost"]["min"] == 100, b["limits"]
        assert "USDT" in ex.currencies and "BTC" in ex.currencies, list(ex.currencies)[:5]
        return f"{len(m)} markets, {len(ex.currencies)} currencies, {SYM} tick {b['precision']['price']} step {b['precision']['amount']}"
    check("usdm.load_markets", load)

    def leverage():
        r = ex.set_leverage(10, SYM)
        assert int(r["leverage"]) == 10 and r["symbol"] == "BTCUSDT" and float(r["maxNotionalValue"]) > 0, r
        tiers = ex.fetch_leverage_tiers([SYM])[SYM]
        assert tiers[0]["maxLeverage"] == 125 and tiers[0]["maintenanceMarginRate"] == 0.004, tiers[0]
        return f"leverage 10, maxNotional {r['maxNotionalValue']}, {len(tiers)} brackets"
    check("usdm.set_leverage + leverage brackets", leverage)

    def modes():
        expect_error(lambda: ex.set_position_mode(False), -4059)
        ex.set_margin_mode("isolated", SYM)
        ex.set_margin_mode("cross", SYM)
        expect_error(lambda: ex.set_margin_mode("cross", SYM), -4046)
        return "-4059 / -4046 'no need to change', isolated→cross ok"
    check("usdm.position mode / margin mode", modes)

    def balance():
        b = ex.fetch_balance()
        assert b["USDT"]["total"] == 10000 and b["USDT"]["free"] == 10000, b["USDT"]
        return f"USDT {b['USDT']}"
    check("usdm.fetch_balance", balance)

    def open_position():
        o = ex.create_order(SYM, "market", "buy", 1.5)
        assert o["id"], o
        pos = [p for p in ex.fetch_positions([SYM]) if p["contracts"]]          # /fapi/v3/positionRisk
        assert len(pos) == 1, pos
        p = pos[0]
        assert p["side"] == "long" and p["contracts"] == 1.5 and p["marginMode"] == "cross", p
        assert 55000 < p["entryPrice"] < 65000 and abs(p["initialMargin"] - p["notional"] / 10) < 0.01, p
        # cross, one-way: LP = (WB + cumB - Position×EP) / (Position×MMR - Position)  (Binance FAQ formula)
        wb = float(ex.fetch_balance()["info"]["totalCrossWalletBalance"])
        ep, q = p["entryPrice"], 1.5
        lp = (wb + 50 - q * ep) / (q * 0.005 - q)    # the 50k–250k bracket: MMR 0.5 %, cum 50
        assert abs(p["liquidationPrice"] - lp) < 0.5, (p["liquidationPrice"], lp)
        v2 = [x for x in ex.fetch_positions([SYM], {"useV2": True}) if x["contracts"]][0]   # /fapi/v2/positionRisk
        assert v2["leverage"] == 10 and v2["marginMode"] == "cross", v2
        return f"long 1.5 @ {p['entryPrice']}, liq {p['liquidationPrice']} (formula {lp:.2f}), IM {p['initialMargin']}, MM {p['maintenanceMargin']}"
    check("usdm.open position (market) + fetch_positions", open_position)

    def leverage_with_position():
        ex.set_leverage(20, SYM)
        p = [p for p in ex.fetch_positions([SYM], {"useV2": True}) if p["contracts"]][0]
        assert p["leverage"] == 20, p
        p3 = [p for p in ex.fetch_positions([SYM]) if p["contracts"]][0]
        assert abs(p3["initialMargin"] - p3["notional"] / 20) < 0.01, p3
        expect_error(lambda: ex.set_leverage(125, SYM), -2027)   # 90k notional > the 50k cap of 125x
        return f"leverage 10→20 with an open position, IM {p3['initialMargin']}"
    check("usdm.set_leverage while a position is open", leverage_with_position)

    def stop_order():
        o = ex.create_order(SYM, "STOP_MARKET", "sell", 1.5, None, {"stopPrice": 50000, "reduceOnly": True})
        assert o["id"], o
        c = ex.cancel_order(o["id"], SYM, {"trigger": True})
        return f"algo STOP_MARKET {o['id']} placed and canceled"
    check("usdm.conditional order via /fapi/v1/algoOrder", stop_order)

    def close_position():
        o = ex.create_order(SYM, "market", "sell", 1.5, None, {"reduceOnly": True})
        pos = [p for p in ex.fetch_positions([SYM]) if p["contracts"]]
        assert not pos, pos
        t = ex.fetch_my_trades(SYM)
        assert len(t) >= 2 and any(float(x["info"]["realizedPnl"]) != 0 or x["side"] == "sell" for x in t), t
        b = ex.fetch_balance()
        assert b["USDT"]["total"] < 10000 + 1000 and b["USDT"]["used"] == 0, b["USDT"]
        return f"closed; {len(t)} trades; wallet {b['USDT']['total']}"
    check("usdm.close position (reduceOnly market)", close_position)

    def rejections():
        expect_error(lambda: ex.create_order(SYM, "market", "sell", 0.01, None, {"reduceOnly": True}), -2022)
        expect_error(lambda: ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "SELL", "type": "STOP_MARKET",
                                                       "quantity": "0.01", "stopPrice": "50000"}), -4120)
        expect_error(lambda: ex.fapiPrivatePostOrder({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
                                                       "quantity": "0.0015", "price": "50000"}), -4023)
        expect_error(lambda: ex.create_order(SYM, "limit", "buy", 0.001, 50000), -4164)
        expect_error(lambda: ex.create_order(SYM, "limit", "buy", 50, 60000), -2019)
        expect_error(lambda: ex.create_order(SYM, "limit", "buy", 0.01, 70000), -4016)
        return "-2022 reduce-only, -4120 use algo API, -4023 step, -4164 notional, -2019 margin, -4016 percent price"
    check("usdm.rejections", rejections)

    def premium():
        r = ex.fetch_funding_rate(SYM)
        assert r["markPrice"] and 0 < r["fundingRate"] <= 0.0006 and r["fundingTimestamp"], r
        return f"mark {r['markPrice']} funding {r['fundingRate']}"
    check("usdm.premiumIndex (fetch_funding_rate)", premium)


async def ws_checks(port):
    ex = exchange(port)
    key = ex.fapiPrivatePostListenKey()["listenKey"]
    assert ex.fapiPrivatePutListenKey()["listenKey"] == key
    async with websockets.connect(f"ws://127.0.0.1:{port}/private/ws/{key}") as priv:
        ex.create_order(SYM, "market", "buy", 0.01)
        ex.create_order(SYM, "market", "sell", 0.01, None, {"reduceOnly": True})
        kinds, trade = set(), None
        deadline = time.time() + 5
        while time.time() < deadline and not ({"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"} <= kinds and trade):
            m = json.loads(await asyncio.wait_for(priv.recv(), 5))
            kinds.add(m["e"])
            if m["e"] == "ORDER_TRADE_UPDATE" and m["o"]["x"] == "TRADE":
                trade = m["o"]
        assert trade and {"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"} <= kinds, kinds
        for f in "s c S o f q p ap sp x X i l z L N n T t m R wt ot ps cp rp".split():
            assert f in trade, (f, trade)
    results.append(("private stream ORDER_TRADE_UPDATE + ACCOUNT_UPDATE", True, ""))
    print(f"PASS /private/ws/<listenKey>: {sorted(kinds)}")

    async with websockets.connect(f"ws://127.0.0.1:{port}/public/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker") as ws:
        last_u, n, seen = None, 0, set()
        deadline = time.time() + 4
        while time.time() < deadline and n < 6:
            m = json.loads(await asyncio.wait_for(ws.recv(), 4))
            seen.add(m["stream"])
            if m["stream"] == "btcusdt@depth@100ms":
                d = m["data"]
                assert d["e"] == "depthUpdate" and d["U"] <= d["u"] and "pu" in d and "T" in d, d
                if last_u is not None:
                    assert d["pu"] == last_u, (last_u, d["pu"])
                last_u, n = d["u"], n + 1
        assert n >= 3 and "btcusdt@bookTicker" in seen, (n, seen)
    results.append(("public depth pu == previous u", True, ""))
    print(f"PASS /public/stream depth: {n} diffs with pu chained, streams {sorted(seen)}")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/venue-sim"
    tmp = tempfile.mkdtemp(prefix="venue-sim-usdm-")
    proc, port = start(binary, tmp)
    print(f"venue-sim (futures) pid {proc.pid} on port {port}")
    try:
        run_ccxt(port)
        try:
            asyncio.run(ws_checks(port))
        except Exception as e:  # noqa: BLE001
            results.append(("websocket checks", False, repr(e)))
            print(f"FAIL websocket checks: {e!r}")
            traceback.print_exc()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    failed = [r for r in results if not r[1]]
    print(f"\n{len(results) - len(failed)}/{len(results)} binanceusdm acceptance checks passed (ccxt {ccxt.__version__})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
