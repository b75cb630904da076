#!/usr/bin/env python3
"""venue-sim acceptance: drive the simulator with unmodified ccxt and python-binance (plus the WS API and
market streams via `websockets`). Starts venue-sim on a free port with a temp config, exits non-zero on failure.

usage: binance_spot_acceptance.py /path/to/venue-sim
"""
import asyncio, base64, json, os, signal, subprocess, sys, tempfile, time, traceback

import ccxt
from binance.client import Client
from binance.exceptions import BinanceAPIException
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
import websockets

HMAC_KEY, HMAC_SECRET = "acc-hmac-key-" + "a" * 51, "acc-hmac-secret-" + "b" * 48
ED_KEY = "acc-ed25519-key-" + "c" * 48
results = []


def check(name, fn):
    try:
        detail = fn()
        results.append((name, True, detail or ""))
        print(f"PASS {name} {detail or ''}")
    except Exception as e:  # noqa: BLE001
        results.append((name, False, repr(e)))
        print(f"FAIL {name}: {e!r}")
        traceback.print_exc()


def start(binary, tmp):
    priv = Ed25519PrivateKey.generate()
    pem_priv = priv.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    pem_pub = priv.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    pub_yaml = "\n".join("      " + l for l in pem_pub.strip().splitlines())
    cfg = f"""host: 127.0.0.1
port: 0
seed: 7
liquidity: {{ levels: 10, quantity: "0.5", intervalMs: 300, volatilityTicks: 2 }}
accounts:
  - name: hmac
    apiKey: {HMAC_KEY}
    secretKey: {HMAC_SECRET}
    balances: {{ USDT: "100000", BTC: "5" }}
  - name: ed
    apiKey: {ED_KEY}
    ed25519PublicKey: |
{pub_yaml}
    balances: {{ USDT: "100000", BTC: "5" }}
symbols:
  - {{ symbol: BTCUSDT, baseAsset: BTC, quoteAsset: USDT, mid: "60000", tickSize: "0.01", stepSize: "0.00001", minNotional: "5" }}
  - {{ symbol: ETHUSDT, baseAsset: ETH, quoteAsset: USDT, mid: "3000", tickSize: "0.01", stepSize: "0.0001", minNotional: "5" }}
"""
    path = os.path.join(tmp, "venue-sim.yaml")
    open(path, "w").write(cfg)
    port_file = os.path.join(tmp, "port")
    proc = subprocess.Popen([binary, "--config", path, "--port-file", port_file, "--log-level", "warning"])
    for _ in range(200):
        if os.path.exists(port_file) and open(port_file).read().strip():
            return proc, int(open(port_file).read()), priv, pem_priv
        if proc.poll() is not None:
            raise SystemExit("venue-sim exited early")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit("venue-sim did not start")


def run_ccxt(port):
    ex = ccxt.binance({
        "apiKey": HMAC_KEY, "secret": HMAC_SECRET, "enableRateLimit": False,
        "options": {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False,
                    "adjustForTimeDifference": False, "warnOnFetchOpenOrdersWithoutSymbol": False},
    })
    for k, v in list(ex.urls["api"].items()):
        if isinstance(v, str) and v.startswith("https://api.binance.com"):
            ex.urls["api"][k] = v.replace("https://api.binance.com", f"http://127.0.0.1:{port}")
    state = {}

    def load():
        m = ex.load_markets()
        assert "BTC/USDT" in m, list(m)[:5]
        bm = m["BTC/USDT"]
        assert bm["spot"] and bm["limits"]["amount"]["min"] == 1e-05, bm["limits"]
        return f"{len(m)} markets, BTC/USDT precision {bm['precision']}"
    check("ccxt.load_markets", load)

    def ticker():
        t = ex.fetch_ticker("BTC/USDT")
        assert t["bid"] and t["ask"] and t["bid"] < t["ask"], t
        return f"bid {t['bid']} ask {t['ask']}"
    check("ccxt.fetch_ticker", ticker)

    def book():
        ob = ex.fetch_order_book("BTC/USDT", 5)
        assert len(ob["bids"]) == 5 and len(ob["asks"]) == 5 and ob["nonce"], ob
        state["bid"] = ob["bids"][0][0]
        return f"best {ob['bids'][0]} / {ob['asks'][0]} nonce {ob['nonce']}"
    check("ccxt.fetch_order_book", book)

    def balance():
        b = ex.fetch_balance()
        assert b["USDT"]["free"] == 100000 and b["BTC"]["total"] == 5, b["USDT"]
        return f"USDT {b['USDT']}"
    check("ccxt.fetch_balance", balance)

    def limit_cycle():
        px = round(state.get("bid", 60000) * 0.9, 2)
        o = ex.create_order("BTC/USDT", "limit", "buy", 0.001, px)
        assert o["status"] == "open" and o["id"], o
        f = ex.fetch_order(o["id"], "BTC/USDT")
        assert f["status"] == "open" and f["price"] == px, f
        oo = ex.fetch_open_orders("BTC/USDT")
        assert any(x["id"] == o["id"] for x in oo), oo
        c = ex.cancel_order(o["id"], "BTC/USDT")
        assert c["status"] == "canceled", c
        f2 = ex.fetch_order(o["id"], "BTC/USDT")
        assert f2["status"] == "canceled", f2
        return f"order {o['id']} open → canceled"
    check("ccxt.create/fetch/cancel limit order", limit_cycle)

    def market():
        o = ex.create_order("BTC/USDT", "market", "buy", 0.002)
        assert o["status"] == "closed" and o["filled"] == 0.002 and o["average"], o
        s = ex.create_order("BTC/USDT", "market", "sell", 0.001)
        assert s["status"] == "closed", s
        state["order"] = o["id"]
        return f"bought 0.002 @ avg {o['average']}, fee {o.get('fee')}"
    check("ccxt.create_order market", market)

    def trades():
        t = ex.fetch_my_trades("BTC/USDT")
        assert len(t) >= 2 and any(x["order"] == state.get("order") for x in t), t
        return f"{len(t)} trades"
    check("ccxt.fetch_my_trades", trades)

    def errors():
        try:
            ex.create_order("BTC/USDT", "limit", "buy", 0.001, 1.00)  # notional 0.001 USDT < minNotional
            raise AssertionError("NOTIONAL violation accepted")
        except ccxt.ExchangeError as e:  # ccxt maps -1013 to BadRequest/InvalidOrder depending on the message
            assert "Filter failure: NOTIONAL" in str(e), e
        try:
            ex.cancel_order("123456789", "BTC/USDT")
            raise AssertionError("unknown cancel accepted")
        except ccxt.OrderNotFound:
            pass
        try:
            ex.create_order("BTC/USDT", "limit", "buy", 100, 60000)
            raise AssertionError("overspend accepted")
        except ccxt.InsufficientFunds:
            pass
        return "Filter failure / OrderNotFound / InsufficientFunds mapped"
    check("ccxt error mapping", errors)


def run_python_binance(port, pem_priv):
    c = Client(HMAC_KEY, HMAC_SECRET, ping=False)
    c.API_URL = f"http://127.0.0.1:{port}/api"

    def market_data():
        c.ping()
        st = c.get_server_time()
        assert abs(st["serverTime"] - time.time() * 1000) < 5000
        info = c.get_symbol_info("BTCUSDT")
        assert info["filters"][0]["filterType"] == "PRICE_FILTER", info
        ob = c.get_order_book(symbol="BTCUSDT", limit=5)
        assert len(ob["bids"]) == 5
        bt = c.get_orderbook_ticker(symbol="BTCUSDT")
        assert float(bt["bidPrice"]) < float(bt["askPrice"])
        c.get_ticker(symbol="BTCUSDT")
        return f"book lastUpdateId {ob['lastUpdateId']}, top {bt['bidPrice']}/{bt['askPrice']}"
    check("python-binance market data", market_data)

    def orders():
        c.create_test_order(symbol="BTCUSDT", side="BUY", type="LIMIT", timeInForce="GTC", quantity="0.001", price="50000")
        o = c.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price="50000.00")
        assert o["status"] == "NEW", o
        q = c.get_order(symbol="BTCUSDT", orderId=o["orderId"])
        assert q["status"] == "NEW" and q["isWorking"], q
        assert any(x["orderId"] == o["orderId"] for x in c.get_open_orders(symbol="BTCUSDT"))
        x = c.cancel_order(symbol="BTCUSDT", orderId=o["orderId"])
        assert x["status"] == "CANCELED", x
        m = c.order_market_buy(symbol="BTCUSDT", quantity="0.001")
        assert m["status"] == "FILLED" and m["fills"], m
        qm = c.order_market_buy(symbol="BTCUSDT", quoteOrderQty="100")
        assert qm["status"] in ("FILLED", "EXPIRED") and float(qm["executedQty"]) > 0, qm
        s = c.order_market_sell(symbol="BTCUSDT", quantity="0.001")
        assert s["status"] == "FILLED", s
        return f"limit {o['orderId']} canceled, market fills {m['fills'][0]['price']}"
    check("python-binance orders", orders)

    def account():
        a = c.get_account()
        assert a["canTrade"] and any(b["asset"] == "USDT" for b in a["balances"])
        ab = c.get_asset_balance(asset="BTC")
        t = c.get_my_trades(symbol="BTCUSDT")
        assert len(t) >= 3, t
        return f"BTC {ab}, {len(t)} trades"
    check("python-binance account/myTrades", account)

    def errors():
        for fn, code in [
            (lambda: c.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price="50000.000000001"), -1111),
            (lambda: c.order_limit_buy(symbol="BTCUSDT", quantity="0.001", price="50000.005"), -1013),
            (lambda: c.cancel_order(symbol="BTCUSDT", orderId=987654321), -2011),
            (lambda: c.get_order(symbol="BTCUSDT", orderId=987654321), -2013),
            (lambda: c.get_order_book(symbol="NOPE"), -1121),
        ]:
            try:
                fn()
                raise AssertionError(f"expected {code}")
            except BinanceAPIException as e:
                assert e.code == code, (e.code, e.message)
        return "-1111 -1013 -2011 -2013 -1121"
    check("python-binance error codes", errors)

    def ed25519():
        e = Client(ED_KEY, private_key=pem_priv, ping=False)
        e.API_URL = f"http://127.0.0.1:{port}/api"
        a = e.get_account()
        o = e.order_limit_sell(symbol="BTCUSDT", quantity="0.001", price="90000.00")
        e.cancel_order(symbol="BTCUSDT", orderId=o["orderId"])
        return f"Ed25519-signed REST ok ({len(a['balances'])} balances)"
    check("python-binance Ed25519 REST signing", ed25519)


async def ws_checks(port, priv):
    # WS API: session.logon (Ed25519), userDataStream.subscribe, order.place → executionReport
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws-api/v3") as ws:
        ts = int(time.time() * 1000)
        payload = f"apiKey={ED_KEY}&timestamp={ts}"
        sig = base64.b64encode(priv.sign(payload.encode())).decode()
        await ws.send(json.dumps({"id": "logon", "method": "session.logon", "params": {"apiKey": ED_KEY, "timestamp": ts, "signature": sig}}))
        r = json.loads(await ws.recv())
        assert r["status"] == 200 and r["result"]["apiKey"] == ED_KEY, r
        await ws.send(json.dumps({"id": 2, "method": "userDataStream.subscribe"}))
        r = json.loads(await ws.recv())
        assert r["status"] == 200 and r["result"]["subscriptionId"] == 0, r
        await ws.send(json.dumps({"id": 3, "method": "order.place", "params": {
            "symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001", "timestamp": int(time.time() * 1000)}}))
        got, resp = [], None
        deadline = time.time() + 5
        while time.time() < deadline and (resp is None or not any(e["event"].get("x") == "TRADE" for e in got if "event" in e)):
            m = json.loads(await asyncio.wait_for(ws.recv(), 5))
            if m.get("id") == 3:
                resp = m
            elif "subscriptionId" in m:
                got.append(m)
        assert resp and resp["status"] == 200 and resp["result"]["status"] == "FILLED", resp
        kinds = {e["event"]["e"] for e in got}
        assert "executionReport" in kinds and "outboundAccountPosition" in kinds, kinds
        er = next(e["event"] for e in got if e["event"].get("x") == "TRADE")
        for f in "e E s c S o f q p P x X i l z L n N T t w m O Z Y Q W V".split():
            assert f in er, (f, er)
        await ws.send(json.dumps({"id": 4, "method": "order.place", "params": {"symbol": "BTCUSDT", "side": "BUY"}}))
        while True:
            m = json.loads(await ws.recv())
            if m.get("id") == 4:
                break
        assert m["status"] == 400 and m["error"]["code"] == -1102, m
        await ws.send("not json")
        m = json.loads(await ws.recv())
        assert m["status"] == 400 and "error" in m, m
    results.append(("WS API logon/subscribe/order.place/executionReport", True, ""))
    print("PASS WS API session.logon + userDataStream.subscribe + order.place + events")

    # combined market streams with contiguous U/u
    url = f"ws://127.0.0.1:{port}/stream?streams=btcusdt@depth@100ms/btcusdt@bookTicker/btcusdt@trade"
    async with websockets.connect(url) as ws:
        last_u, n_depth, seen = None, 0, set()
        deadline = time.time() + 4
        while time.time() < deadline and n_depth < 8:
            m = json.loads(await asyncio.wait_for(ws.recv(), 4))
            seen.add(m["stream"])
            if m["stream"] == "btcusdt@depth@100ms":
                d = m["data"]
                assert d["e"] == "depthUpdate" and d["U"] <= d["u"], d
                if last_u is not None:
                    assert d["U"] == last_u + 1, (last_u, d["U"])
                last_u, n_depth = d["u"], n_depth + 1
        assert n_depth >= 3 and "btcusdt@bookTicker" in seen, seen
    results.append(("market streams combined depth U/u contiguous + bookTicker", True, ""))
    print(f"PASS combined streams ({n_depth} depth diffs contiguous, streams {sorted(seen)})")

    # raw stream + fault: depth gap
    async with websockets.connect(f"ws://127.0.0.1:{port}/ws/btcusdt@depth@100ms") as ws:
        first = json.loads(await ws.recv())
        assert first["e"] == "depthUpdate"
        import urllib.request
        urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/sim/faults", data=b'{"depthGap":{"count":1}}', method="POST")).read()
        prev, gap = first["u"], False
        for _ in range(10):
            d = json.loads(await asyncio.wait_for(ws.recv(), 3))
            if d["U"] != prev + 1:
                gap = True
                break
            prev = d["u"]
        assert gap, "no gap injected"
    results.append(("fault injection: depth gap on raw stream", True, ""))
    print("PASS raw /ws stream + injected depth gap observed")


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else ".build/debug/venue-sim"
    tmp = tempfile.mkdtemp(prefix="venue-sim-acc-")
    proc, port, priv, pem_priv = start(binary, tmp)
    print(f"venue-sim pid {proc.pid} on port {port}")
    try:
        run_ccxt(port)
        run_python_binance(port, pem_priv)
        try:
            asyncio.run(ws_checks(port, priv))
        except Exception as e:  # noqa: BLE001
            results.append(("websocket checks", False, repr(e)))
            print(f"FAIL websocket checks: {e!r}")
            traceback.print_exc()
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            rc = proc.wait(timeout=10)
            results.append(("SIGTERM shutdown", rc == 0, f"exit {rc}"))
            print(f"{'PASS' if rc == 0 else 'FAIL'} SIGTERM shutdown (exit {rc})")
        except subprocess.TimeoutExpired:
            proc.kill()
            results.append(("SIGTERM shutdown", False, "timeout"))
            print("FAIL SIGTERM shutdown (timeout)")
    failed = [r for r in results if not r[1]]
    print(f"\n{len(results) - len(failed)}/{len(results)} acceptance checks passed (ccxt {ccxt.__version__})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
