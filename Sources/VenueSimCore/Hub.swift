// WebSocket fan-out: market streams (raw or combined) and user-data subscriptions on WS API sessions.
import Foundation

public final class Hub: EventSink, @unchecked Sendable {
    final class Conn {
        let id: Int
        let cont: AsyncStream<String>.Continuation
        let combined: Bool
        let isAPI: Bool
        var streams: Set<String> = []
        var subs: [Int: Int] = [:]  // subscriptionId -> account
        var nextSub = 0
        init(id: Int, cont: AsyncStream<String>.Continuation, combined: Bool, isAPI: Bool) {
            self.id = id; self.cont = cont; self.combined = combined; self.isAPI = isAPI
        }
    }
    let lock = NSLock()
    var conns: [Int: Conn] = [:]
    var streamSubs: [String: Set<Int>] = [:]
    var userSubs: [Int: [(Int, Int)]] = [:]  // account -> [(connId, subscriptionId)]
    var nextId = 1

    public init() {}

    public func open(combined: Bool, isAPI: Bool) -> (Int, AsyncStream<String>) {
        let (stream, cont) = AsyncStream<String>.makeStream(bufferingPolicy: .bufferingNewest(100_000))
        lock.lock(); defer { lock.unlock() }
        let id = nextId
        nextId += 1
        conns[id] = Conn(id: id, cont: cont, combined: combined, isAPI: isAPI)
        return (id, stream)
    }

    public func close(_ id: Int) {
        lock.lock(); defer { lock.unlock() }
        guard let c = conns.removeValue(forKey: id) else { return }
        for s in c.streams { streamSubs[s]?.remove(id); if streamSubs[s]?.isEmpty == true { streamSubs[s] = nil } }
        for (_, acc) in c.subs { userSubs[acc]?.removeAll { $0.0 == id } }
        c.cont.finish()
    }

    /// Drops connections (fault injection). kind: "market", "api" or "all".
    public func drop(kind: String) -> Int {
        lock.lock()
        let victims = conns.values.filter { kind == "all" || (kind == "api") == $0.isAPI }.map(\.id)
        lock.unlock()
        for v in victims { close(v) }
        return victims.count
    }

    public func subscribe(_ id: Int, _ streams: [String]) {
        lock.lock(); defer { lock.unlock() }
        guard let c = conns[id] else { return }
        for s in streams { c.streams.insert(s); streamSubs[s, default: []].insert(id) }
    }

    public func unsubscribe(_ id: Int, _ streams: [String]) {
        lock.lock(); defer { lock.unlock() }
        guard let c = conns[id] else { return }
        for s in streams { c.streams.remove(s); streamSubs[s]?.remove(id) }
    }

    public func list(_ id: Int) -> [String] {
        lock.lock(); defer { lock.unlock() }
        return conns[id].map { $0.streams.sorted() } ?? []
    }

    public func activeStreams() -> [String] {
        lock.lock(); defer { lock.unlock() }
        return Array(streamSubs.keys)
    }

    /// user data subscription on a WS API connection; returns the subscriptionId.
    public func subscribeUser(_ id: Int, account: Int) -> Int? {
        lock.lock(); defer { lock.unlock() }
        guard let c = conns[id] else { return nil }
        if let existing = c.subs.first(where: { $0.value == account }) { return existing.key }
        let sid = c.nextSub
        c.nextSub += 1
        c.subs[sid] = account
        userSubs[account, default: []].append((id, sid))
        return sid
    }

    public func unsubscribeUser(_ id: Int, subscriptionId: Int?) -> Bool {
        lock.lock(); defer { lock.unlock() }
        guard let c = conns[id] else { return false }
        let ids = subscriptionId.map { [$0] } ?? Array(c.subs.keys)
        var any = false
        for sid in ids {
            guard let acc = c.subs.removeValue(forKey: sid) else { continue }
            userSubs[acc]?.removeAll { $0.0 == id && $0.1 == sid }
            any = true
        }
        return any
    }

    public func send(_ id: Int, _ text: String) {
        lock.lock(); let c = conns[id]; lock.unlock()
        c?.cont.yield(text)
    }

    // EventSink
    public func wantsStream(_ name: String) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return streamSubs[name]?.isEmpty == false
    }

    public func publish(stream: String, payload: String) {
        lock.lock(); defer { lock.unlock() }
        guard let ids = streamSubs[stream] else { return }
        var wrapped: String?
        for id in ids {
            guard let c = conns[id] else { continue }
            if c.combined {
                if wrapped == nil { wrapped = "{\"stream\":\"\(stream)\",\"data\":\(payload)}" }
                c.cont.yield(wrapped!)
            } else {
                c.cont.yield(payload)
            }
        }
    }

    public func wantsUser(_ account: Int) -> Bool {
        lock.lock(); defer { lock.unlock() }
        return userSubs[account]?.isEmpty == false
    }

    public func publish(user account: Int, payload: String) {
        lock.lock(); defer { lock.unlock() }
        for (id, sid) in userSubs[account] ?? [] {
            conns[id]?.cont.yield("{\"subscriptionId\":\(sid),\"event\":\(payload)}")
        }
    }
}
