import Testing
import NIOCore
@testable import BinanceConnector

/// After a restart, a command may already have reached the venue through the
/// previous process: it is queried first, and (if unknown there) sent only
/// once the previous process's requests can no longer execute.
@Suite struct PriorIncarnationTests {
    let prior = PriorIncarnation(startedNs: 1_000_000_000_000, startedVenueMs: 1_000_000)

    @Test func commandsStoredBeforeTheStartOrRedeliveredMayHaveBeenSent() {
        #expect(prior.maySendAgain(numDelivered: 1, storedNs: 999_999_999_999))     // stored before this process
        #expect(prior.maySendAgain(numDelivered: 2, storedNs: 1_000_000_000_001))   // delivered to us before
        #expect(!prior.maySendAgain(numDelivered: 1, storedNs: 1_000_000_000_000))  // new since the start: fresh
        #expect(!prior.maySendAgain(numDelivered: 1, storedNs: 1_000_000_500_000))
    }

    @Test func resendWaitsForTheOldRequestsRecvWindowPlusMargin() {
        // A request sent just before the restart carried a timestamp ≤ the start; the venue executes it
        // until timestamp + recvWindow (and accepts timestamps up to 1 s ahead of its clock).
        #expect(prior.resendSafeAtMs(recvWindowMs: 5_000) == 1_000_000 + 5_000 + 1_000)
        #expect(prior.resendSafeAtMs(recvWindowMs: 0) == 1_001_000)
    }
}

/// A WebSocket API request whose write found the connection closed never reached the venue: it is not-sent (the
/// order goes by REST at once), not unknown (which waits out recvWindow before a query may allow a resend).
@Suite struct WSAPIWriteFailureTests {
    @Test func aWriteOnAClosedConnectionIsNotSentAnyOtherFailureIsUnknown() {
        #expect(BinanceWSAPIClient.closedBeforeWrite(ChannelError.ioOnClosedChannel))
        #expect(BinanceWSAPIClient.closedBeforeWrite(ChannelError.alreadyClosed))
        #expect(BinanceWSAPIClient.closedBeforeWrite(ChannelError.outputClosed))
        #expect(!BinanceWSAPIClient.closedBeforeWrite(ChannelError.connectTimeout(.seconds(1))))
        #expect(!BinanceWSAPIClient.closedBeforeWrite(CancellationError()))
    }
}
