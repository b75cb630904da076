import CNATS
import Foundation

/// One dedicated thread for nats.c calls that block (fetch, request, sync
/// publish), so they never block Swift's cooperative pool. It releases
/// nats.c's thread-local memory when it exits, as the library asks.
final class BlockingWorker: @unchecked Sendable {
    /// Owned by the thread as well as the worker, so the thread can finish
    /// its queue after the worker itself is gone.
    private final class Queue: @unchecked Sendable {
        let condition = NSCondition()
        var jobs: [() -> Void] = []
        var stopping = false

        func run() {
            while true {
                condition.lock()
                while jobs.isEmpty && !stopping { condition.wait() }
                if jobs.isEmpty && stopping {
                    condition.unlock()
                    break
                }
                let job = jobs.removeFirst()
                condition.unlock()
                job()
            }
            nats_ReleaseThreadMemory()
        }
    }

    private let queue = Queue()

    init(name: String) {
        let thread = Thread { [queue] in queue.run() }
        thread.name = name
        thread.start()
    }

    func submit(_ job: @escaping () -> Void) {
        queue.condition.lock()
        queue.jobs.append(job)
        queue.condition.signal()
        queue.condition.unlock()
    }

    /// Runs `body` on the worker thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (cont: CheckedContinuation<T, Error>) in
            submit {
                do { cont.resume(returning: try body()) } catch { cont.resume(throwing: error) }
            }
        }
    }

    /// Lets queued jobs finish, then ends the thread.
    func shutdown() {
        queue.condition.lock()
        queue.stopping = true
        queue.condition.signal()
        queue.condition.unlock()
    }

    deinit { shutdown() }
}
