/// Isolation levels a transaction can ask for.
public enum IsolationLevel: String, Sendable {
    case readCommitted = "READ COMMITTED"
    case repeatableRead = "REPEATABLE READ"
    case serializable = "SERIALIZABLE"
}

/// A transaction scoped to one tenant: the only way the server reads or writes tenant data.
///
/// It exists only inside `Store.transaction(tenant:)`, which sets `wattline.tenant_id` with
/// `SET LOCAL` before handing it out, so every statement it runs is filtered by the tables'
/// row-level security policies, whatever the SQL says. Not `Sendable`: it lives on the pool
/// thread that runs the transaction.
public struct TenantTransaction: ~Copyable {
    public let tenant: TenantID
    let connection: PGConnection

    /// Runs one statement with binary parameters.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        try connection.query(sql, parameters)
    }

    /// Bulk-writes rows into `table` (schema-qualified) with binary COPY.
    ///
    /// PostgreSQL refuses `COPY FROM` into tables under row-level security, so rows are copied
    /// into a transaction-local temporary table of the same shape and moved with one
    /// `INSERT … SELECT`, where the policies check every row's tenant.
    @discardableResult
    public func copyIn(_ table: String, columns: [String], _ write: (inout BinaryCopyWriter) throws -> Void) throws -> Int {
        let staging = "wl_copy_" + table.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let list = columns.joined(separator: ", ")
        try connection.execute("""
            CREATE TEMP TABLE IF NOT EXISTS \(staging) (LIKE \(table) INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            TRUNCATE \(staging)
            """)
        try connection.copyIn(staging, columns: columns, write)
        return try connection.query("INSERT INTO \(table) (\(list)) SELECT \(list) FROM \(staging)").affectedRows
    }

    /// Like `copyIn`, but rows whose key already exists (or repeats an earlier row) are skipped;
    /// returns the `returning` columns of the rows inserted. Written for exactly-once ingest.
    public func copyInSkippingConflicts(
        _ table: String, columns: [String], returning: String, _ write: (inout BinaryCopyWriter) throws -> Void
    ) throws -> PGResult {
        let staging = "wl_copy_" + table.map { $0.isLetter || $0.isNumber ? $0 : "_" }
        let list = columns.joined(separator: ", ")
        try connection.execute("""
            CREATE TEMP TABLE IF NOT EXISTS \(staging) (LIKE \(table) INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
            TRUNCATE \(staging)
            """)
        try connection.copyIn(staging, columns: columns, write)
        return try connection.query(
            "INSERT INTO \(table) (\(list)) SELECT \(list) FROM \(staging) ON CONFLICT DO NOTHING RETURNING \(returning)")
    }
}

/// A transaction with no tenant scope, for data that belongs to no tenant (published consent
/// policies, migrations' bookkeeping). Tenant tables answer it with no rows.
public struct PlatformTransaction: ~Copyable {
    let connection: PGConnection

    @discardableResult
    public func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        try connection.query(sql, parameters)
    }
}

extension PGConnection {
    /// Runs `body` between BEGIN and COMMIT, rolling back on any error, and runs it again (up to
    /// `attempts` times) when PostgreSQL reports a serialization failure or deadlock.
    func inTransaction<T>(
        isolation: IsolationLevel, timeout: Duration?, attempts: Int, setup: [(String, [PGValue])],
        _ body: () throws -> T
    ) throws -> T {
        var attempt = 1
        while true {
            do {
                try execute("BEGIN ISOLATION LEVEL \(isolation.rawValue)")
                if let timeout {
                    try execute("SET LOCAL statement_timeout = \(max(1, timeout.wholeMilliseconds))")
                }
                for (sql, parameters) in setup { try query(sql, parameters) }
                let value = try body()
                try execute("COMMIT")
                return value
            } catch {
                if isHealthy { try? execute("ROLLBACK") }
                if let failure = error as? PGError, failure.code == .serializationFailure || failure.code == .deadlock,
                   attempt < attempts, isHealthy {
                    attempt += 1
                    continue
                }
                throw error
            }
        }
    }
}

extension Duration {
    /// The duration in whole milliseconds (truncated), as PostgreSQL's timeouts take it.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000
    }
}

/// One transaction that writes for several tenants, each part under its own tenant scope: group
/// commit (telemetry ingest), where one COMMIT — one WAL flush — serves many tenants' writes.
/// Row-level security checks every statement against the scope current when it runs.
public struct GroupTransaction: ~Copyable {
    let connection: PGConnection

    /// Runs `body` scoped to `tenant`; the scope ends with it (the next part sets its own).
    public func within<T>(_ tenant: TenantID, _ body: (borrowing TenantTransaction) throws -> T) throws -> T {
        try connection.query("SELECT set_config('wattline.tenant_id', $1, true)", [.text(tenant.description)])
        defer { _ = try? connection.query("SELECT set_config('wattline.tenant_id', '', true)") }
        return try body(TenantTransaction(tenant: tenant, connection: connection))
    }
}

extension Store {
    /// Runs `body` in one transaction whose parts each run in one tenant's scope
    /// (`GroupTransaction.within`). Outside a part no tenant rows are visible.
    @discardableResult
    public func groupTransaction<T: Sendable>(
        timeout: Duration? = nil, _ body: @escaping @Sendable (borrowing GroupTransaction) throws -> T
    ) async throws -> T {
        try await pool.run { connection in
            try connection.inTransaction(isolation: .readCommitted, timeout: timeout, attempts: 3, setup: []) {
                try body(GroupTransaction(connection: connection))
            }
        }
    }
}
