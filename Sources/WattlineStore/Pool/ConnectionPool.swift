import Foundation

/// A bounded pool of libpq connections, each owned by a dedicated thread.
///
/// libpq blocks, so callers never touch a connection directly: `run` sends a closure to a free
/// worker thread and suspends the calling task until it returns. Event-loop threads and the Swift
/// concurrency pool are never blocked. At most `maxWaiting` jobs queue; past that, and past
/// `acquireTimeout` in the queue, jobs fail with `.poolExhausted` so load sheds instead of piling up.
/// A worker whose connection broke reconnects on its next job with exponential backoff; while
/// the database is down, jobs fail fast with retryable errors and the pool recovers by itself.
///
/// The pool is also a `TaskExecutor`. Code that makes many database calls in a row can run on it
/// (`withTaskExecutorPreference(pool) { … }`): its `run` calls then execute on the worker thread
/// the task is already on, with no hand-off between threads (two thread wake-ups saved per call).
public final class ConnectionPool: @unchecked Sendable {
    public struct Configuration: Sendable {
        public var conninfo: String
        public var size: Int
        public var maxWaiting: Int
        public var acquireTimeout: Duration
        /// SQL run once on every new connection (for example `SET statement_timeout = 5000`).
        public var onConnect: [String]

        public init(conninfo: String, size: Int = 4, maxWaiting: Int = 1_024,
                    acquireTimeout: Duration = .seconds(10), onConnect: [String] = []) {
            self.conninfo = conninfo
            self.size = size
            self.maxWaiting = maxWaiting
            self.acquireTimeout = acquireTimeout
            self.onConnect = onConnect
        }
    }

    private enum Job {
        /// A closure that needs a connection (or learns why there is none).
        case database(enqueued: ContinuousClock.Instant, work: (PGConnection?, PGError?) -> Void)
        /// A partial task of code running on this pool as its task executor.
        case task(UnownedJob)
    }

    private let configuration: Configuration
    /// Number of connections (and threads).
    public var size: Int { configuration.size }
    private let condition = NSCondition()
    /// Jobs from `queueHead` on; a taken slot is cleared at once, so that a finished job's closure
    /// (and what it captured: a group commit's batches) is not kept until the next compaction.
    private var queue: [Job?] = []
    private var queueHead = 0
    private var closed = false
    private var running = 0

    public init(_ configuration: Configuration) {
        precondition(configuration.size > 0, "a pool needs at least one connection")
        self.configuration = configuration
        for index in 0..<configuration.size {
            let thread = Thread { [unowned self] in self.workerLoop() }
            thread.name = "wattline-pg-\(index)"
            thread.stackSize = 1 << 20
            running += 1
            thread.start()
        }
    }

    deinit { shutdown() }

    /// Runs `body` with a connection on a pool thread (inline when the task already runs on one).
    public func run<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        if let worker = PoolWorker.current, worker.pool === self {
            return try worker.withConnection(configuration, body)
        }
        return try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
            let work: (PGConnection?, PGError?) -> Void = { connection, failure in
                guard let connection else {
                    continuation.resume(throwing: failure ?? PGError(.unavailable, "no connection"))
                    return
                }
                continuation.resume(with: Result { try body(connection) })
            }
            condition.lock()
            defer { condition.unlock() }
            guard !closed else {
                continuation.resume(throwing: PGError(.unavailable, "the connection pool is shut down"))
                return
            }
            guard queue.count - queueHead < configuration.maxWaiting else {
                continuation.resume(throwing: PGError(.poolExhausted, "\(configuration.maxWaiting) database jobs already waiting"))
                return
            }
            queue.append(.database(enqueued: .now, work: work))
            condition.signal()
        }
    }

    /// Stops the workers after the jobs already queued; later `run` calls fail.
    public func shutdown() {
        condition.lock()
        closed = true
        condition.broadcast()
        while running > 0 { condition.wait() }
        condition.unlock()
    }

    private func nextJob() -> Job? {
        condition.lock()
        defer { condition.unlock() }
        while queueHead == queue.count {
            if closed { return nil }
            condition.wait()
        }
        let job = queue[queueHead].take()
        queueHead += 1
        if queueHead == queue.count {
            queue.removeAll(keepingCapacity: true)
            queueHead = 0
        } else if queueHead > 1_024, queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        return job
    }

    private func workerLoop() {
        let worker = PoolWorker(pool: self)
        PoolWorker.current = worker
        while let job = nextJob() {
            switch job {
            case .task(let task):
                task.runSynchronously(on: asUnownedTaskExecutor())
            case .database(let enqueued, let work):
                if ContinuousClock.now - enqueued > configuration.acquireTimeout {
                    work(nil, PGError(.poolExhausted, "waited more than \(configuration.acquireTimeout) for a database connection"))
                    continue
                }
                switch worker.connection(configuration) {
                case .success(let connection): work(connection, nil)
                case .failure(let error): work(nil, error)
                }
            }
        }
        PoolWorker.current = nil
        worker.close()
        condition.lock()
        running -= 1
        condition.broadcast()
        condition.unlock()
    }
}

extension ConnectionPool: TaskExecutor {
    public func enqueue(_ job: consuming ExecutorJob) {
        let task = UnownedJob(job)
        condition.lock()
        queue.append(.task(task))
        condition.signal()
        condition.unlock()
    }
}

/// One worker thread's connection, reconnected with backoff when it breaks.
final class PoolWorker {
    unowned let pool: ConnectionPool
    private var connection: PGConnection?
    private var backoff = Backoff()

    init(pool: ConnectionPool) { self.pool = pool }

    /// A healthy connection, or why there is none (connecting now, or backing off).
    func connection(_ configuration: ConnectionPool.Configuration) -> Result<PGConnection, PGError> {
        if let current = connection, current.isHealthy { return .success(current) }
        connection = nil
        if let wait = backoff.remaining() {
            return .failure(PGError(.unavailable, "database unavailable; next connection attempt in \(wait)"))
        }
        do {
            let fresh = try PGConnection(conninfo: configuration.conninfo)
            for sql in configuration.onConnect { try fresh.execute(sql) }
            connection = fresh
            backoff.reset()
            return .success(fresh)
        } catch {
            backoff.failed()
            return .failure(error)
        }
    }

    func withConnection<T>(_ configuration: ConnectionPool.Configuration, _ body: (PGConnection) throws -> T) throws -> T {
        try body(connection(configuration).get())
    }

    func close() { connection = nil }

    /// The worker of the current thread, if it is a pool thread.
    static var current: PoolWorker? {
        get {
            guard let raw = pthread_getspecific(key) else { return nil }
            return Unmanaged<PoolWorker>.fromOpaque(raw).takeUnretainedValue()
        }
        set {
            if let old = pthread_getspecific(key) { Unmanaged<PoolWorker>.fromOpaque(old).release() }
            pthread_setspecific(key, newValue.map { Unmanaged.passRetained($0).toOpaque() })
        }
    }

    private static let key: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()
}

/// Exponential backoff with jitter between reconnection attempts: 50 ms doubling to 5 s.
struct Backoff {
    private var failures = 0
    private var notBefore: ContinuousClock.Instant?

    mutating func failed() {
        failures += 1
        let base = min(50.0 * pow(2.0, Double(failures - 1)), 5_000.0)
        let jittered = base * Double.random(in: 0.5...1.0)
        notBefore = .now + .milliseconds(Int(jittered))
    }

    mutating func reset() {
        failures = 0
        notBefore = nil
    }

    /// Time left before the next attempt is allowed, or nil when one may be made now.
    func remaining() -> Duration? {
        guard let notBefore, notBefore > .now else { return nil }
        return notBefore - .now
    }
}
