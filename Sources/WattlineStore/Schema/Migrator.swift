import Foundation

/// One ordered SQL file of `Sources/WattlineStore/Migrations`, named `NNNN_description.sql`.
public struct Migration: Sendable {
    public let version: Int
    public let name: String
    public let sql: String

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }
}

/// Applies the migrations in order, each in its own transaction, under an advisory lock so that
/// several servers starting at once migrate once. An applied migration whose file has changed
/// since is an error: fix forward with a new migration instead.
public enum Migrator {
    private static let lockKey: Int64 = 0x5741_5454_4C49_4E45  // "WATTLINE"

    /// The migrations shipped with this build, in order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw PGError(.migration, "the Migrations resource folder is missing from the build")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
            .filter { $0.hasSuffix(".sql") }.sorted()
        return try files.map { file in
            guard let version = Int(file.prefix { $0.isNumber }), file.contains("_") else {
                throw PGError(.migration, "migration file \(file) is not named NNNN_description.sql")
            }
            let sql = try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8)
            return Migration(version: version, name: file, sql: sql)
        }
    }

    /// Brings the database at `conninfo` (a role allowed to create objects and roles) up to date;
    /// returns the names of the migrations it applied.
    @discardableResult
    public static func migrate(conninfo: String, migrations: [Migration]? = nil) throws -> [String] {
        let migrations = try migrations ?? bundled()
        let versions = migrations.map(\.version)
        guard Set(versions).count == versions.count, versions == versions.sorted() else {
            throw PGError(.migration, "migration versions must be unique and ordered: \(versions)")
        }
        let connection = try PGConnection(conninfo: conninfo)
        try connection.query("SELECT pg_advisory_lock($1)", [.int64(lockKey)])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [.int64(lockKey)]) }
        try connection.execute("""
            CREATE SCHEMA IF NOT EXISTS wattline_meta;
            REVOKE ALL ON SCHEMA wattline_meta FROM PUBLIC;
            CREATE TABLE IF NOT EXISTS wattline_meta.schema_migrations (
                version     integer PRIMARY KEY,
                name        text NOT NULL,
                checksum    bytea NOT NULL,
                applied_at  timestamptz NOT NULL DEFAULT now()
            );
            """)
        var applied: [Int: (name: String, checksum: [UInt8])] = [:]
        for row in try connection.query("SELECT version, name, checksum FROM wattline_meta.schema_migrations").rows {
            applied[Int(try row.int64(0))] = (try row.string(1), try row.bytes(2))
        }
        if let unknown = applied.keys.filter({ !versions.contains($0) }).min() {
            throw PGError(.migration, "the database has migration \(unknown) (\(applied[unknown]!.name)) that this build does not know; deploy a newer build")
        }
        var done: [String] = []
        for migration in migrations {
            let checksum = try connection.query("SELECT sha256(convert_to($1, 'UTF8'))", [.text(migration.sql)])[0].bytes(0)
            if let existing = applied[migration.version] {
                guard existing.checksum == checksum else {
                    throw PGError(.migration, "migration \(migration.name) was changed after it was applied; add a new migration instead")
                }
                continue
            }
            try connection.inTransaction(isolation: .readCommitted, timeout: nil, attempts: 1, setup: []) {
                try connection.execute(migration.sql)
                try connection.query(
                    "INSERT INTO wattline_meta.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [.int32(Int32(migration.version)), .text(migration.name), .bytea(checksum)])
            }
            done.append(migration.name)
        }
        return done
    }
}
