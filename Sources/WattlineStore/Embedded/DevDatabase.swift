import Foundation

/// The embedded development default: a private cluster under `<root>/.wattline/pg`, a
/// `wattline` database, migrated, with connection strings for each role.
public struct DevDatabase: Sendable {
    public let cluster: EmbeddedPostgres
    public let database: String

    public init(projectRoot: String, database: String = "wattline") {
        self.cluster = EmbeddedPostgres(directory: projectRoot + "/.wattline/pg")
        self.database = database
    }

    /// The superuser: migrations and administration only.
    public var adminConninfo: String { cluster.conninfo(database: database) }
    /// The server's role: no table ownership, no BYPASSRLS.
    public var appConninfo: String { cluster.conninfo(database: database, user: "wattline_app") }
    /// The identity service's role: its own schema only.
    public var imsConninfo: String { cluster.conninfo(database: database, user: "wattline_ims") }

    /// Starts the cluster, creates the database if missing and migrates it.
    @discardableResult
    public func prepare() throws -> [String] {
        try cluster.start()
        try createDatabaseIfMissing(database)
        return try Migrator.migrate(conninfo: adminConninfo)
    }

    /// Creates the database if it does not exist yet (the cluster must be running).
    public func createDatabase() throws {
        try createDatabaseIfMissing(database)
    }

    func createDatabaseIfMissing(_ name: String, template: String? = nil) throws {
        let admin = try PGConnection(conninfo: cluster.conninfo(database: "postgres"))
        let exists = try admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [.text(name)]).count > 0
        if !exists {
            let sql = "CREATE DATABASE \(quoteIdentifier(name))" + (template.map { " TEMPLATE \(quoteIdentifier($0))" } ?? "")
            do {
                try admin.execute(sql)
            } catch {
                // 42P04: created concurrently by another process, which is fine.
                if error.sqlState != "42P04" { throw error }
            }
        }
    }
}

/// A SQL identifier, double-quoted.
func quoteIdentifier(_ name: String) -> String {
    "\"" + name.replacingOccurrences(of: "\"", with: "\"\"") + "\""
}
