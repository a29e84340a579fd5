import Foundation
import Testing
import WattlineStore
import WattlineTestSupport

@Suite("Store")
struct StoreTests {
    let tenant = TenantID(UUID())

    private func createTenant(_ store: Store) async throws {
        try await store.transaction(tenant: tenant) { tx in
            try tx.query("INSERT INTO wattline.tenants (tenant_id, name_enc) VALUES ($1, $2)", [.uuid(tx.tenant.uuid), .bytea([7])])
        }
    }

    @Test("binary parameters and results round-trip every supported type")
    func types() async throws {
        try await withStore { store, _ in
            let id = UUID()
            let row = try await store.pool.run { connection in
                try connection.query(
                    "SELECT $1::bool, $2::int2, $3::int4, $4::int8, $5::float8, $6::text, $7::bytea, $8::uuid, $9::timestamptz, NULL::text",
                    [.bool(true), .int16(-7), .int32(123_456), .int64(-9_000_000_000), .float64(-0.125), .text("Zähler ⚡"),
                     .bytea([0, 255, 1]), .uuid(id), .timestampMs(1_767_225_600_123)])[0]
            }
            #expect(try row.bool(0) == true)
            #expect(try row.int64(1) == -7 && row.int64(2) == 123_456 && row.int64(3) == -9_000_000_000)
            #expect(try row.double(4) == -0.125)
            #expect(try row.string(5) == "Zähler ⚡")
            #expect(try row.bytes(6) == [0, 255, 1])
            #expect(try row.uuid(7) == id)
            #expect(try row.timestampMs(8) == 1_767_225_600_123)
            #expect(try row.optionalString(9) == nil)
            #expect(throws: PGError.self) { try row.string(9) }
            #expect(throws: PGError.self) { try row.uuid(5) }
        }
    }

    @Test("SQLSTATEs map to typed errors")
    func typedErrors() async throws {
        try await withStore { store, _ in
            try await createTenant(store)
            let duplicate = await #expect(throws: PGError.self) {
                try await store.transaction(tenant: tenant) { tx in
                    try tx.query("INSERT INTO wattline.tenants (tenant_id, name_enc) VALUES ($1, $2)", [.uuid(tx.tenant.uuid), .bytea([])])
                }
            }
            #expect(duplicate?.code == .uniqueViolation && duplicate?.sqlState == "23505")
            #expect(duplicate.map { !"\($0)".contains("Key (") } == true, "DETAIL (row data) must stay out of the description")
            let foreignKey = await #expect(throws: PGError.self) {
                try await store.transaction(tenant: tenant) { tx in
                    try tx.query("INSERT INTO wattline.loggers (tenant_id, logger_id, site_id, serial_enc) VALUES ($1, $2, $3, $4)",
                                 [.uuid(tx.tenant.uuid), .uuid(UUID()), .uuid(UUID()), .bytea([])])
                }
            }
            #expect(foreignKey?.code == .foreignKeyViolation)
            let check = await #expect(throws: PGError.self) {
                try await store.transaction(tenant: tenant) { tx in
                    try tx.query("INSERT INTO wattline.memberships (tenant_id, identity_id, role) VALUES ($1, $2, 'emperor')",
                                 [.uuid(tx.tenant.uuid), .uuid(UUID())])
                }
            }
            #expect(check?.code == .checkViolation)
            let timeout = await #expect(throws: PGError.self) {
                try await store.transaction(tenant: tenant, timeout: .milliseconds(100)) { tx in try tx.query("SELECT pg_sleep(5)") }
            }
            #expect(timeout?.code == .queryCanceled)
            // A failed transaction leaves nothing behind and the connection usable.
            let count = try await store.transaction(tenant: tenant) { tx in try tx.query("SELECT count(*) FROM wattline.memberships")[0].int64(0) }
            #expect(count == 0)
        }
    }

    @Test("serialization failures are retried until the transaction commits")
    func serializationRetry() async throws {
        try await withStore { store, _ in
            try await createTenant(store)
            // Concurrent serializable read-modify-write on one row: conflicts must be retried, no update lost.
            try await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<12 {
                    group.addTask {
                        try await store.transaction(tenant: tenant, isolation: .serializable, attempts: 50) { tx in
                            let value = try tx.query("SELECT length(name_enc) FROM wattline.tenants")[0].int64(0)
                            usleep(2_000)
                            try tx.query("UPDATE wattline.tenants SET name_enc = $1", [.bytea([UInt8](repeating: 1, count: Int(value) + 1))])
                        }
                    }
                }
                try await group.waitForAll()
            }
            let length = try await store.transaction(tenant: tenant) { tx in try tx.query("SELECT length(name_enc) FROM wattline.tenants")[0].int64(0) }
            #expect(length == 13)
        }
    }

    static let auditColumns = ["tenant_id", "sequence", "occurred_at_ms", "kind", "outcome", "event", "event_hash"]

    @Test("binary COPY writes rows, checked by row-level security")
    func copy() async throws {
        try await withStore { store, _ in
            try await createTenant(store)
            let written = try await store.transaction(tenant: tenant) { tx in
                try tx.copyIn("wattline.audit_events", columns: Self.auditColumns) { writer in
                    for sequence in 1...10_000 {
                        try writer.beginRow()
                        writer.append(.uuid(tx.tenant.uuid))
                        writer.append(Int64(sequence))
                        writer.append(Int64(sequence))
                        writer.append(.int16(1))
                        writer.append(.int16(1))
                        writer.append(Array("test.copy".utf8))
                        writer.append([UInt8](repeating: 1, count: 32))
                    }
                }
            }
            #expect(written == 10_000)
            let stored = try await store.transaction(tenant: tenant) { tx in try tx.query("SELECT count(*), max(sequence) FROM wattline.audit_events")[0] }
            #expect(try stored.int64(0) == 10_000 && stored.int64(1) == 10_000)
            // A row for another tenant fails the whole COPY.
            let other = UUID()
            await #expect(throws: PGError.self) {
                try await store.transaction(tenant: tenant) { tx in
                    try tx.copyIn("wattline.audit_events", columns: Self.auditColumns) { writer in
                        try writer.beginRow()
                        writer.append(.uuid(other)); writer.append(Int64(1)); writer.append(Int64(1)); writer.append(.int16(1))
                        writer.append(.int16(1)); writer.append([UInt8]()); writer.append([UInt8](repeating: 1, count: 32))
                    }
                }
            }
        }
    }

    @Test("a full wait queue sheds load with poolExhausted instead of buffering")
    func boundedQueue() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let pool = ConnectionPool(.init(conninfo: database.appConninfo, size: 1, maxWaiting: 2))
        defer { pool.shutdown() }
        let outcomes = await withTaskGroup(of: PGError.Code?.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    do {
                        _ = try await pool.run { try $0.query("SELECT pg_sleep(0.3)") }
                        return nil
                    } catch {
                        return (error as? PGError)?.code
                    }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        #expect(outcomes.contains(.poolExhausted))
        #expect(outcomes.contains(nil))
    }
}

@Suite("Connection pool as task executor")
struct PoolExecutorTests {
    @Test("code running on the pool's executor makes its database calls without changing thread")
    func inline() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let pool = ConnectionPool(.init(conninfo: database.appConninfo, size: 2))
        defer { pool.shutdown() }
        let sameThread = try await withTaskExecutorPreference(pool) {
            var same = 0
            for value in 0..<50 {
                let before = pthread_self()
                let (result, inside) = try await pool.run { connection in
                    (try connection.query("SELECT $1::int8", [.int64(Int64(value))])[0].int64(0), pthread_self())
                }
                #expect(result == Int64(value))
                if pthread_equal(before, inside) != 0 { same += 1 }
            }
            return same
        }
        #expect(sameThread == 50)
        // From ordinary tasks the same pool still works through hand-offs.
        let value = try await pool.run { try $0.query("SELECT 7::int8")[0].int64(0) }
        #expect(value == 7)
    }
}
