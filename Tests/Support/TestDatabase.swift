import Foundation
import WattlineStore

/// An isolated database for one test, created from a migrated template in the project's embedded
/// cluster, dropped by `drop()`. Shared by the test targets that need a real PostgreSQL; each
/// names its own template, so that one target's run never rebuilds another's under it.
public struct TestDatabase: Sendable {
    public static let projectRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
    public static let cluster = EmbeddedPostgres(directory: projectRoot + "/.wattline/pg")

    public let name: String
    public var adminConninfo: String { Self.cluster.conninfo(database: name) }
    public var appConninfo: String { Self.cluster.conninfo(database: name, user: "wattline_app") }
    public var imsConninfo: String { Self.cluster.conninfo(database: name, user: "wattline_ims") }

    /// A fresh, migrated database copied from `template` (built or rebuilt first when the
    /// migrations changed).
    public static func create(template: String = "wattline_test_template", prefix: String = "wl_test_") throws -> TestDatabase {
        try prepare(template)
        let name = prefix + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(16).lowercased()
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

    public func drop() {
        guard let admin = try? PGConnection(conninfo: Self.cluster.conninfo(database: "postgres")) else { return }
        _ = try? admin.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    /// Starts the cluster and (re)builds `template` when the migrations changed, once per process.
    private static func prepare(_ template: String) throws {
        try TemplatesPrepared.shared.once(template) {
            try cluster.start()
            let migrations = try Migrator.bundled()
            let fingerprint = migrations.map { "\($0.name):\($0.sql.stableHash)" }.joined(separator: ",")
            let admin = try PGConnection(conninfo: cluster.conninfo(database: "postgres"))
            let lock = Int64(bitPattern: template.stableHash & 0x7FFF_FFFF)
            try admin.query("SELECT pg_advisory_lock(\(lock))")
            defer { _ = try? admin.query("SELECT pg_advisory_unlock(\(lock))") }
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

/// Runs a throwing closure once per key and process; later callers get nothing to do.
final class TemplatesPrepared: @unchecked Sendable {
    static let shared = TemplatesPrepared()
    private let lock = NSLock()
    private var done: Set<String> = []

    func once(_ key: String, _ body: () throws -> Void) throws {
        lock.lock()
        defer { lock.unlock() }
        guard !done.contains(key) else { return }
        try body()
        done.insert(key)
    }
}

extension String {
    /// FNV-1a: stable across processes, unlike `hashValue`.
    var stableHash: UInt64 {
        utf8.reduce(0xcbf2_9ce4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01b3 }
    }
}
