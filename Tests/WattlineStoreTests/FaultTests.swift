import Foundation
import Testing
import WattlineStore

/// PostgreSQL unavailable or restarted: clear, retryable errors, automatic recovery, no crash.
/// Each test runs its own throw-away cluster so that restarting it disturbs no other test.
@Suite("Database faults", .serialized)
struct FaultTests {
    private static func scratchCluster() -> EmbeddedPostgres {
        EmbeddedPostgres(directory: "/tmp/wl-fault-" + UUID().uuidString.prefix(8).lowercased(), port: 54330)
    }

    private static func remove(_ cluster: EmbeddedPostgres) {
        try? cluster.stop()
        try? FileManager.default.removeItem(atPath: cluster.directory)
    }

    @Test("a database that never comes up gives a clear error after the startup timeout")
    func neverUp() async throws {
        let cluster = Self.scratchCluster()
        defer { Self.remove(cluster) }
        let clock = ContinuousClock()
        let start = clock.now
        let error = await #expect(throws: PGError.self) {
            _ = try await Store.open(.init(conninfo: cluster.conninfo(database: "postgres"), startupTimeout: .seconds(1),
                                           requireUnprivilegedRole: false))
        }
        #expect(error?.code == .unavailable)
        #expect(error?.message.contains("cannot connect") == true || error?.message.contains("unavailable") == true)
        #expect(clock.now - start >= .seconds(1), "open must retry until its startup timeout")
    }

    @Test("a database that comes up during start-up is waited for")
    func comesUpLate() async throws {
        let cluster = Self.scratchCluster()
        defer { Self.remove(cluster) }
        let starter = Task.detached {
            try await Task.sleep(for: .milliseconds(500))
            try cluster.start()
        }
        let retries = Counter()
        let store = try await Store.open(
            .init(conninfo: cluster.conninfo(database: "postgres"), startupTimeout: .seconds(60), requireUnprivilegedRole: false),
            log: { _ in retries.increment() })
        defer { store.shutdown() }
        try await starter.value
        let one = try await store.pool.run { try $0.query("SELECT 1")[0].int64(0) }
        #expect(one == 1)
        #expect(retries.value > 0, "open should have logged its retries while the database was down")
    }

    @Test("a restart under load fails in-flight calls with retryable errors and the pool recovers")
    func restartUnderLoad() async throws {
        let cluster = Self.scratchCluster()
        defer { Self.remove(cluster) }
        try cluster.start()
        let store = try await Store.open(.init(conninfo: cluster.conninfo(database: "postgres"), poolSize: 4,
                                               requireUnprivilegedRole: false))
        defer { store.shutdown() }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(6)
        let restarter = Task.detached {
            try await Task.sleep(for: .seconds(1))
            try cluster.restart()
        }
        let outcomes = try await withThrowingTaskGroup(of: (ok: Int, retryable: Int, other: [String]).self) { group in
            for worker in 0..<8 {
                group.addTask {
                    var ok = 0, retryable = 0
                    var other: [String] = []
                    while clock.now < end {
                        do {
                            let value = try await store.pool.run { connection in
                                try connection.query("SELECT $1::int8 + 1, pg_sleep(0.01)", [.int64(Int64(worker))])[0].int64(0)
                            }
                            if value == Int64(worker) + 1 { ok += 1 }
                        } catch let error as PGError where error.isRetryable {
                            retryable += 1
                            try await Task.sleep(for: .milliseconds(20))
                        } catch {
                            other.append("\(error)")
                        }
                    }
                    return (ok, retryable, other)
                }
            }
            return try await group.reduce(into: [(ok: Int, retryable: Int, other: [String])]()) { $0.append($1) }
        }
        try await restarter.value
        let failures = outcomes.flatMap(\.other)
        #expect(failures.isEmpty, "non-retryable errors during restart: \(failures.prefix(3))")
        #expect(outcomes.map(\.retryable).reduce(0, +) > 0, "the restart should have cut in-flight calls")
        // After the restart every call succeeds again.
        for _ in 0..<20 {
            let one = try await store.pool.run { try $0.query("SELECT 1")[0].int64(0) }
            #expect(one == 1)
        }
    }
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var count = 0
    func increment() { lock.lock(); count += 1; lock.unlock() }
    var value: Int { lock.lock(); defer { lock.unlock() }; return count }
}
