import Foundation
import WattlineStore

/// An isolated database for one test, created from a migrated template in the project's
/// embedded cluster (or in the cluster of `WATTLINE_TEST_CLUSTER`), dropped by `drop()`.
struct TestDatabase {
    static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    static let cluster = EmbeddedPostgres(directory: projectRoot + "/.wattline/pg")
    private static let template = "wattline_test_template"

    let name: String
    var adminConninfo: String { Self.cluster.conninfo(database: name) }
    var appConninfo: String { Self.cluster.conninfo(database: name, user: "wattline_app") }
    var imsConninfo: String { Self.cluster.conninfo(database: name, user: "wattline_ims") }

    /// A fresh, migrated database.
    static func create() throws -> TestDatabase {
        try prepareTemplate()
        let name = "wl_test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
        let admin = try PGConnection(conninfo: cluster.conninfo(database: "postgres"))
        // CREATE DATABASE fails while another session copies the same template; retry briefly.
        var attempt = 0
        while true {
            attempt += 1
            do {
                try admin.execute("CREATE DATABASE \(name) TEMPLATE \(template)")
                break
            } catch {
                if attempt >= 50 || error.sqlState != "55006" { throw error }
            }
            usleep(100_000)
        }
        return TestDatabase(name: name)
    }

    func drop() {
        guard let admin = try? PGConnection(conninfo: Self.cluster.conninfo(database: "postgres")) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Starts the cluster and (re)builds the template when the migrations changed, once per process.
    private static func prepareTemplate() throws {
        try TemplateOnce.shared.run {
            try cluster.start()
            let migrations = try Migrator.bundled()
            let fingerprint = migrations.map { "\($0.name):\($0.sql.hashValueStable)" }.joined(separator: ",")
            let admin = try PGConnection(conninfo: cluster.conninfo(database: "postgres"))
            try admin.query("SELECT pg_advisory_lock(4242)")
            defer { _ = try? admin.query("SELECT pg_advisory_unlock(4242)") }
            let current = try admin.query(
                "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = $1", [.text(template)])
            if current.count == 1, try current[0].optionalString(0) == fingerprint { return }
            try admin.execute("DROP DATABASE IF EXISTS \(template) WITH (FORCE)")
            try admin.execute("CREATE DATABASE \(template)")
            try Migrator.migrate(conninfo: cluster.conninfo(database: template), migrations: migrations)
            try admin.execute("COMMENT ON DATABASE \(template) IS '\(fingerprint.replacingOccurrences(of: "'", with: "''"))'")
        }
    }
}

/// Runs a throwing closure once per process; later callers get its outcome.
final class TemplateOnce: @unchecked Sendable {
    static let shared = TemplateOnce()
    private let lock = NSLock()
    private var done = false

    func run(_ body: () throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !done else { return }
        try body()
        done = true
    }
}

extension String {
    /// FNV-1a: stable across processes, unlike `hashValue`.
    var hashValueStable: UInt64 {
        utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}

/// Runs `body` with a fresh database and a store connected as the unprivileged role.
func withStore<T>(_ body: (Store, TestDatabase) async throws -> T) async throws -> T {
    let database = try TestDatabase.create()
    defer { database.drop() }
    let store = try await Store.open(.init(conninfo: database.appConninfo, poolSize: 3, startupTimeout: .seconds(5)))
    defer { store.shutdown() }
    return try await body(store, database)
}
