import Foundation

/// Runs argon2id work (tens of milliseconds of CPU and tens of MiB each) on a few dedicated
/// threads, so that neither the NIO event loops nor Swift's cooperative pool ever block on it:
/// at most `threads` run at once, at most `maxWaiting` wait; past that `run` throws
/// `HashWorkers.Overloaded` at once (Login answers RESOURCE_EXHAUSTED).
final class HashWorkers: @unchecked Sendable {
    struct Overloaded: Error {}

    private let condition = NSCondition()
    private var queue: [() -> Void] = []
    private var head = 0
    private var closed = false
    private let maxWaiting: Int
    private var alive = 0

    init(threads: Int, maxWaiting: Int) {
        precondition(threads > 0)
        self.maxWaiting = max(0, maxWaiting)
        for index in 0..<threads {
            let thread = Thread { [self] in loop() }
            thread.name = "wattline-argon2-\(index)"
            alive += 1
            thread.start()
        }
    }

    /// Runs `body` on a hashing thread and returns its result.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            condition.lock()
            defer { condition.unlock() }
            guard !closed, queue.count - head < maxWaiting + idleThreads else {
                continuation.resume(throwing: Overloaded())
                return
            }
            queue.append { continuation.resume(with: Result { try body() }) }
            condition.signal()
        }
    }

    /// Threads blocked waiting for work (guarded by `condition`).
    private var idleThreads = 0

    /// Stops the threads after the work already queued.
    func shutdown() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count && !closed {
                idleThreads += 1
                condition.wait()
                idleThreads -= 1
            }
            if head == queue.count {  // closed and drained
                alive -= 1
                condition.unlock()
                return
            }
            let job = queue[head]
            head += 1
            if head == queue.count {
                queue.removeAll(keepingCapacity: true)
                head = 0
            }
            condition.unlock()
            job()
        }
    }
}
