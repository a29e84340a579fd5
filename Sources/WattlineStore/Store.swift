import Foundation

/// Wattline's access to PostgreSQL: a pool of libpq connections as the unprivileged
/// `wattline_app` role, and transactions that are always scoped.
public final class Store: Sendable {
    public struct Configuration: Sendable {
        /// libpq connection string or URI of the server's role (never a superuser).
        public var conninfo: String
        public var poolSize: Int
        /// Default per-statement timeout.
        public var statementTimeout: Duration
        /// How long `open` keeps retrying while the database is unreachable.
        public var startupTimeout: Duration
        /// Refuse to run as a role that bypasses row-level security (superuser, BYPASSRLS).
        public var requireUnprivilegedRole: Bool

        public init(conninfo: String, poolSize: Int = 4, statementTimeout: Duration = .seconds(30),
                    startupTimeout: Duration = .seconds(30), requireUnprivilegedRole: Bool = true) {
            self.conninfo = conninfo
            self.poolSize = poolSize
            self.statementTimeout = statementTimeout
            self.startupTimeout = startupTimeout
            self.requireUnprivilegedRole = requireUnprivilegedRole
        }
    }

    public let pool: ConnectionPool

    private init(pool: ConnectionPool) { self.pool = pool }

    /// Connects, retrying with backoff until `startupTimeout` while PostgreSQL is unreachable,
    /// then checks that the role cannot bypass row-level security.
    public static func open(_ configuration: Configuration, log: @Sendable (String) -> Void = { _ in }) async throws -> Store {
        let timeoutMs = configuration.statementTimeout.wholeMilliseconds
        let pool = ConnectionPool(.init(
            conninfo: configuration.conninfo, size: configuration.poolSize,
            onConnect: ["SET statement_timeout = \(timeoutMs)"]))
        let store = Store(pool: pool)
        let deadline = ContinuousClock.now + configuration.startupTimeout
        var delay = Duration.milliseconds(100)
        while true {
            do {
                let (superuser, bypass, name) = try await pool.run { connection in
                    let row = try connection.query(
                        "SELECT rolsuper, rolbypassrls, rolname::text FROM pg_roles WHERE rolname = current_user")[0]
                    return (try row.bool(0), try row.bool(1), try row.string(2))
                }
                if configuration.requireUnprivilegedRole, superuser || bypass {
                    pool.shutdown()
                    throw PGError(.insufficientPrivilege,
                                  "role \(name) bypasses row-level security; connect as an unprivileged role such as wattline_app")
                }
                return store
            } catch let error as PGError where error.isRetryable && ContinuousClock.now < deadline {
                log("database not reachable yet (\(error.message)); retrying in \(delay)")
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .seconds(2))
            } catch {
                pool.shutdown()
                throw error
            }
        }
    }

    /// Runs `body` in a transaction scoped to `tenant`: row-level security shows and accepts only
    /// that tenant's rows. Serialization failures and deadlocks are retried.
    @discardableResult
    public func transaction<T: Sendable>(
        tenant: TenantID, isolation: IsolationLevel = .readCommitted, timeout: Duration? = nil,
        attempts: Int = 3, _ body: @escaping @Sendable (borrowing TenantTransaction) throws -> T
    ) async throws -> T {
        try await pool.run { connection in
            try connection.inTransaction(
                isolation: isolation, timeout: timeout, attempts: attempts,
                setup: [("SELECT set_config('wattline.tenant_id', $1, true)", [.text(tenant.description)])]
            ) {
                try body(TenantTransaction(tenant: tenant, connection: connection))
            }
        }
    }

    /// Runs `body` in a transaction without a tenant scope (platform data only).
    @discardableResult
    public func platformTransaction<T: Sendable>(
        isolation: IsolationLevel = .readCommitted, timeout: Duration? = nil,
        _ body: @escaping @Sendable (borrowing PlatformTransaction) throws -> T
    ) async throws -> T {
        try await pool.run { connection in
            try connection.inTransaction(isolation: isolation, timeout: timeout, attempts: 3, setup: []) {
                try body(PlatformTransaction(connection: connection))
            }
        }
    }

    public func shutdown() { pool.shutdown() }
}
