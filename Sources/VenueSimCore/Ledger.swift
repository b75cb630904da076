// The simulator's own record of one account: every order it ever accepted, every
// trade, the balances and how many duplicate-client-id sends it refused. Fault runs
// compare the OMS's view against this ground truth (GET /sim/ledger?apiKey=...).

extension Engine {
    public func ledger(account: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let orders: [J] = a.orders.values.sorted { $0.id < $1.id }.map { o in
            .obj([("symbol", .str(specs[o.symbol].name)), ("orderId", .int(o.id)), ("clientOrderId", .str(o.clientOrderId)),
                  ("side", .str(o.side.rawValue)), ("type", .str(o.type.rawValue)), ("status", .str(o.status.rawValue)),
                  ("origQty", .s(o.origQty)), ("executedQty", .s(o.executed)), ("cummulativeQuoteQty", .s(o.cumQuote)),
                  ("time", .int(o.time))])
        }
        let trades: [J] = a.trades.keys.sorted().flatMap { a.trades[$0]! }.map { t in
            .obj([("symbol", .str(t.symbol)), ("id", .int(t.id)), ("orderId", .int(t.orderId)), ("price", .s(t.price)),
                  ("qty", .s(t.qty)), ("quoteQty", .s(t.quoteQty)), ("commission", .s(t.commission)),
                  ("commissionAsset", .str(t.commissionAsset)), ("time", .int(t.time)), ("isBuyer", .bool(t.isBuyer)),
                  ("isMaker", .bool(t.isMaker))])
        }
        let balances: [J] = a.assetOrder.map { asset in
            let b = a.bal(asset)
            return .obj([("asset", .str(asset)), ("free", .s(b.free)), ("locked", .s(b.locked))])
        }
        return .obj([("account", .str(a.name)), ("orders", .arr(orders)), ("trades", .arr(trades)),
                     ("balances", .arr(balances)), ("duplicateRejects", .i(a.duplicateRejects))])
    }
}

extension FuturesEngine {
    /// The USDⓈ-M side of the same account: orders, trades, positions (non-zero) and wallet balances.
    public func ledger(account: Int) -> J {
        lock.lock(); defer { lock.unlock() }
        let a = accounts[account]
        let orders: [J] = a.orders.values.sorted { $0.id < $1.id }.map { o in
            .obj([("symbol", .str(symbols[o.symbol].spec.name)), ("orderId", .int(o.id)), ("clientOrderId", .str(o.clientOrderId)),
                  ("side", .str(o.side.rawValue)), ("status", .str(o.status.rawValue)), ("origQty", .s(o.origQty)),
                  ("executedQty", .s(o.executed)), ("cumQuote", .s(o.cumQuote)), ("time", .int(o.time))])
        }
        let trades: [J] = a.trades.keys.sorted().flatMap { sym in (a.trades[sym] ?? []).map { (sym, $0) } }.map { sym, t in
            .obj([("symbol", .str(symbols[sym].spec.name)), ("id", .int(t.id)), ("orderId", .int(t.orderId)), ("side", .str(t.side.rawValue)),
                  ("price", .s(t.price)), ("qty", .s(t.qty)), ("realizedPnl", .s(t.realized)), ("commission", .s(t.commission)),
                  ("commissionAsset", .str(t.asset)), ("time", .int(t.time)), ("maker", .bool(t.maker))])
        }
        let positions: [J] = a.positions.keys.sorted().compactMap { k in
            guard let p = a.positions[k], !p.amt.isZero else { return nil }
            return .obj([("symbol", .str(symbols[k / 3].spec.name)), ("positionSide", .str(PositionSide.allCases[k % 3].rawValue)),
                         ("positionAmt", .s(p.amt)), ("entryPrice", .s(p.entry))])
        }
        let wallets: [J] = a.assetOrder.map { .obj([("asset", .str($0)), ("walletBalance", .s(a.wallet[$0] ?? .zero))]) }
        return .obj([("orders", .arr(orders)), ("trades", .arr(trades)), ("positions", .arr(positions)), ("wallets", .arr(wallets))])
    }
}
