import OMSCore
import Testing
@testable import OMSServerCore

/// TRADES and ORDERS are separate feeds, so a fill can reach the projection
/// before the first event of its order (a routed child's market order fills
/// at once). The fill must not be lost: the child and its parent both show it.
@Suite struct ProjectionFillOrderTests {
    func instrument(_ ex: String) -> Oms_V1_InstrumentId {
        var i = Oms_V1_InstrumentId(); i.exchange = ex; i.market = "spot"; i.symbol = "BTCUSDT"; return i
    }
    func fill(_ order: String, parent: String = "", trade: String, qty: Int64) -> Oms_V1_Fill {
        var f = Oms_V1_Fill()
        f.tradeID = trade; f.orderID = order; f.parentOrderID = parent; f.account = "a"; f.instrument = instrument("binance")
        f.side = .sell; f.price.mantissa = 6_000_000; f.price.scale = 2; f.quantity.mantissa = qty; f.quantity.scale = 5
        return f
    }

    @Test func childFillBeforeTheChildsFirstEventIsKept() {
        let p = OrderProjection(ttl: .seconds(60), maxSize: 100)
        var parent = Oms_V1_NewOrder()
        parent.orderID = "P"; parent.clientOrderID = "c-p"; parent.account = "a"; parent.instrument = instrument("auto")
        parent.side = .sell; parent.orderType = .market; parent.quantity.mantissa = 200; parent.quantity.scale = 5
        var cmd = Oms_V1_OrderCommand(); cmd.commandID = "cmd-P"; cmd.newOrder = parent
        p.apply(command: cmd, nowNs: 1)
        var d = Oms_V1_RoutingDecision()
        d.parentOrderID = "P"
        var a = Oms_V1_ChildAllocation(); a.childOrderID = "P-1"; a.instrument = instrument("binance"); a.quantity = parent.quantity
        d.allocations = [a]
        p.apply(routing: d, nowNs: 2)

        // The fill first ...
        p.apply(fill: fill("P-1", parent: "P", trade: "5", qty: 200), sequence: 1)
        #expect(p.order(id: "P")?.fills.map(\.tradeID) == ["5"])
        // ... then the child's events.
        var e = Oms_V1_OrderEvent()
        e.eventID = "P-1:filled"; e.eventType = .filled
        e.order.orderID = "P-1"; e.order.parentOrderID = "P"; e.order.account = "a"; e.order.instrument = instrument("binance")
        e.order.status = .filled; e.order.quantity = parent.quantity; e.order.filledQuantity = parent.quantity
        e.order.averagePrice.mantissa = 6_000_000; e.order.averagePrice.scale = 2; e.order.updatedNs = 3
        p.apply(event: e, sequence: 2, nowNs: 3)
        #expect(p.order(id: "P-1")?.fills.map(\.tradeID) == ["5"])
        #expect(p.order(id: "P")?.fills.count == 1)         // not twice
        #expect(p.order(id: "P")?.order.status == .filled)
        // A redelivered fill changes nothing.
        p.apply(fill: fill("P-1", parent: "P", trade: "5", qty: 200), sequence: 1)
        #expect(p.order(id: "P-1")?.fills.count == 1 && p.order(id: "P")?.fills.count == 1)
    }

    @Test func directOrderFillBeforeItsCommandIsKept() {
        // Replay after a restart: the TRADES feed may run ahead of COMMANDS/ORDERS.
        let p = OrderProjection(ttl: .seconds(60), maxSize: 100)
        p.apply(fill: fill("O", trade: "9", qty: 100), sequence: 1)
        #expect(p.order(id: "O") == nil)
        var o = Oms_V1_NewOrder()
        o.orderID = "O"; o.clientOrderID = "c-o"; o.account = "a"; o.instrument = instrument("binance")
        o.side = .sell; o.orderType = .market; o.quantity.mantissa = 100; o.quantity.scale = 5
        var cmd = Oms_V1_OrderCommand(); cmd.commandID = "cmd-O"; cmd.newOrder = o
        p.apply(command: cmd, nowNs: 1)
        #expect(p.order(id: "O")?.fills.map(\.tradeID) == ["9"])
    }
}
