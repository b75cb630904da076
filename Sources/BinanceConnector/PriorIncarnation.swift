import Foundation
import OMSCore

/// What a connector that just (re)started must assume about the commands it
/// finds in COMMANDS: its previous incarnation may have sent any of them, and
/// a request it sent stays executable at the venue until its `timestamp +
/// recvWindow` (Binance refuses it after that). A command stored before this
/// process started, or delivered more than once, is therefore queried by
/// client order id before it is sent; and when the venue does not know it, it
/// is sent only once every request of the previous incarnation has expired.
/// Without this, a market order that filled just before a `kill -9` was sent
/// again after the restart: its client order id was free again once the first
/// order was FILLED (seen in a fault-suite run under heavy load).
struct PriorIncarnation: Sendable {
    /// Wall clock (ns) when this process started consuming commands.
    let startedNs: Int64
    /// Venue-synced clock (ms) at that moment: any earlier request carried a timestamp before it.
    let startedVenueMs: Int64
    /// Margin for clock differences between the two incarnations (Binance also accepts timestamps up to 1 s ahead).
    static let marginMs: Int64 = 1_000

    init(startedNs: Int64 = wallClockNanos(), startedVenueMs: Int64) {
        self.startedNs = startedNs
        self.startedVenueMs = startedVenueMs
    }

    /// The command may already be at the venue (sent by this process before, or by the previous one).
    func maySendAgain(numDelivered: UInt64, storedNs: Int64) -> Bool {
        DeliveryInfo.mayHaveBeenHandled(numDelivered: numDelivered, storedNs: storedNs, processStartedNs: startedNs)
    }

    /// Before this venue time, a request of the previous incarnation may still execute.
    func resendSafeAtMs(recvWindowMs: Int64) -> Int64 {
        startedVenueMs + recvWindowMs + Self.marginMs
    }
}
