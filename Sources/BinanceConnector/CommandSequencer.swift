import Synchronization

/// Lets order commands run concurrently without reordering what must stay ordered.
///
/// Commands for one order (new -> cancel -> amend) run strictly one after the
/// other, in the order they were admitted; commands for different orders overlap,
/// so an order whose outcome is unknown (timeout, -1007: the connector waits out
/// `recvWindow` before it may resend) no longer holds up every other order. A
/// barrier command (cancel-all) waits for everything admitted before it, and
/// everything admitted after it waits for the barrier. At most `maxInFlight`
/// commands are admitted at once: the consumer stops pulling when the slots are
/// full, which is the backpressure towards JetStream.
///
/// Acks are per message and may complete out of order; that is safe with
/// JetStream's ack floor (it only advances over a contiguous run of acked
/// messages, and `ConsumerSpec.resumeInOrder` redelivers from the floor after a
/// restart), so a command is never lost because a later one was acked first.
public final class CommandSequencer: Sendable {
    /// Opened once when its command finished; successors wait on it.
    public final class Turn: Sendable {
        private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))
        init() {}

        func wait() async {
            await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { s -> Bool in
                    if s.open { return true }
                    s.waiters.append(c)
                    return false
                }
                if resumeNow { c.resume() }
            }
        }

        func open() {
            let waiters = state.withLock { s -> [CheckedContinuation<Void, Never>] in
                s.open = true
                defer { s.waiters = [] }
                return s.waiters
            }
            for w in waiters { w.resume() }
        }
    }

    /// One admitted command: what it must wait for before it runs, and its own turn.
    public struct Ticket: Sendable {
        let id: UInt64
        let key: String?
        let predecessors: [Turn]
        let turn: Turn
    }

    struct State {
        var free: Int
        var slotWaiters: [CheckedContinuation<Void, Never>] = []
        var nextID: UInt64 = 0
        /// Last admitted command per order id.
        var tails: [String: (id: UInt64, turn: Turn)] = [:]
        /// Every admitted, unfinished command (a barrier waits for all of them).
        var active: [UInt64: Turn] = [:]
        var barrier: (id: UInt64, turn: Turn)?
    }

    public let maxInFlight: Int
    private let state: Mutex<State>

    public init(maxInFlight: Int = 64) {
        precondition(maxInFlight > 0)
        self.maxInFlight = maxInFlight
        state = Mutex(State(free: maxInFlight))
    }

    /// Commands admitted and not yet finished.
    public var inFlight: Int { state.withLock { maxInFlight - $0.free } }

    /// Waits for a free slot, then admits a command for order `key` (nil: a barrier).
    /// Call in delivery order: the admission order is the execution order per order.
    public func admit(key: String?) async -> Ticket {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let now = state.withLock { s -> Bool in
                if s.free > 0 { s.free -= 1; return true }
                s.slotWaiters.append(c)
                return false
            }
            if now { c.resume() }
        }
        return state.withLock { s in
            s.nextID += 1
            let id = s.nextID
            let turn = Turn()
            var before: [Turn] = []
            if let key {
                if let t = s.tails[key] { before.append(t.turn) }
                if let b = s.barrier { before.append(b.turn) }
                s.tails[key] = (id, turn)
            } else {
                before = Array(s.active.values)
                s.barrier = (id, turn)
            }
            s.active[id] = turn
            return Ticket(id: id, key: key, predecessors: before, turn: turn)
        }
    }

    /// Waits until every command this one must follow has finished.
    public func waitTurn(_ t: Ticket) async {
        for p in t.predecessors { await p.wait() }
    }

    /// Marks the command finished (after its ack/nak): successors may run, the slot is free.
    public func finish(_ t: Ticket) {
        let slotWaiter = state.withLock { s -> CheckedContinuation<Void, Never>? in
            s.active[t.id] = nil
            if let key = t.key, s.tails[key]?.id == t.id { s.tails[key] = nil }
            if s.barrier?.id == t.id { s.barrier = nil }
            if !s.slotWaiters.isEmpty { return s.slotWaiters.removeFirst() }  // the slot passes on
            s.free += 1
            return nil
        }
        t.turn.open()
        slotWaiter?.resume()
    }
}
