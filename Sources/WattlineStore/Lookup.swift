import Foundation

/// A question the server must answer across tenants before it knows a call's tenant. Each one
/// opens exactly the rows that answer it (migration 0005's `*_lookup` policies), read-only.
public enum Lookup: Sendable, Hashable {
    /// A person's memberships and the sites they are Responsible for, in every tenant.
    case identity(UUID)
    /// The credential whose certificate fingerprint or secret hash (SHA-256) this is.
    case credential(sha256: [UInt8])
    /// Every tenant's row (a platform operator's listing).
    case allTenants
    /// Every revoked or expiring logger certificate (the connect-time revocation set).
    case revocations

    var setting: (name: String, value: String) {
        switch self {
        case .identity(let id): ("wattline.lookup_identity", id.uuidString.lowercased())
        case .credential(let hash): ("wattline.lookup_credential", hash.map { String(format: "%02x", $0) }.joined())
        case .allTenants: ("wattline.lookup_all_tenants", "on")
        case .revocations: ("wattline.lookup_revocations", "on")
        }
    }
}

/// A read-only transaction that sees only the rows answering its `Lookup`.
public struct LookupTransaction: ~Copyable {
    public let lookup: Lookup
    let connection: PGConnection

    @discardableResult
    public func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        try connection.query(sql, parameters)
    }
}

extension Store {
    /// Runs `body` in a read-only transaction that sees only the rows answering `lookup`.
    @discardableResult
    public func lookup<T: Sendable>(
        _ lookup: Lookup, _ body: @escaping @Sendable (borrowing LookupTransaction) throws -> T
    ) async throws -> T {
        let setting = lookup.setting
        return try await pool.run { connection in
            try connection.inTransaction(
                isolation: .readCommitted, timeout: nil, attempts: 3,
                setup: [("SET TRANSACTION READ ONLY", []), ("SELECT set_config($1, $2, true)", [.text(setting.name), .text(setting.value)])]
            ) {
                try body(LookupTransaction(lookup: lookup, connection: connection))
            }
        }
    }
}
