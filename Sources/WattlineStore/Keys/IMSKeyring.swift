import Foundation
import WattlineCrypto

/// The identity service's data keys (`ims.data_keys`) and what it seals with them: e-mail and
/// profile, plus the blind index that finds an identity by e-mail without decrypting.
///
/// Same envelope as `TenantKeyring`, with the identity service as the single "tenant" (an all-zero
/// tenant id in the associated data). The blind-index key is derived from data key 1, which is
/// therefore kept (retired, never deleted) when the IMS key rotates, so indexes stay stable.
public final class IMSKeyring: Sendable {
    private static let scope = [UInt8](repeating: 0, count: 16)
    private let master: MasterKey
    private let cache = KeyCache(lifetime: .seconds(60))
    private static let cacheTenant = TenantID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))

    public init(master: MasterKey) { self.master = master }

    /// The active key's id, creating key 1 on first use. Run as the `wattline_ims` role.
    @discardableResult
    public func ensureKey(_ connection: PGConnection) throws -> Int32 {
        if let active = try connection.query("SELECT key_id FROM ims.data_keys WHERE status = 'active'").first {
            return Int32(try active.int64(0))
        }
        let key = try SecretKey.random()
        let wrapped = try master.wrapper.wrap(key, keyID: TenantKeyring.imsWrapID(1))
        try connection.query(
            "INSERT INTO ims.data_keys (key_id, wrapped_key, master_key_id, status) VALUES (1, $1, $2, 'active') ON CONFLICT DO NOTHING",
            [.bytea(wrapped), .text(master.id)])
        return Int32(try connection.query("SELECT key_id FROM ims.data_keys WHERE status = 'active'")[0].int64(0))
    }

    /// Seals `plaintext` for `table.column` of `row` under the active IMS key.
    public func seal(_ plaintext: [UInt8], _ connection: PGConnection, table: String, column: String, row: [UInt8]) throws -> [UInt8] {
        let keyID = try ensureKey(connection)
        let ad = try AssociatedData(tenant: Self.scope, table: table, column: column, row: row)
        return try SealedValue.seal(plaintext, keyID: keyID, key: key(connection, keyID), associatedData: ad)
    }

    /// Opens a value sealed by `seal` for the same table, column and row.
    public func open(_ sealed: [UInt8], _ connection: PGConnection, table: String, column: String, row: [UInt8]) throws -> [UInt8] {
        let ad = try AssociatedData(tenant: Self.scope, table: table, column: column, row: row)
        return try SealedValue.open(sealed, key: key(connection, SealedValue.keyID(of: sealed)), associatedData: ad)
    }

    /// HMAC-SHA256 of `value` (for example a normalised e-mail address) under a key derived from
    /// IMS data key 1: equal values give equal indexes, and nothing about the value is revealed.
    public func blindIndex(_ value: [UInt8], _ connection: PGConnection) throws -> [UInt8] {
        try ensureKey(connection)
        return try BlindIndex(key: try key(connection, 1).derive(label: "ims-blind-index")).index(value)
    }

    private func key(_ connection: PGConnection, _ keyID: Int32) throws -> SecretKey {
        if let cached = cache.key(tenant: Self.cacheTenant, keyID: keyID) { return cached }
        guard let row = try connection.query("SELECT wrapped_key FROM ims.data_keys WHERE key_id = $1", [.int32(keyID)]).first else {
            throw KeyringError.keyDestroyed(tenant: Self.cacheTenant, keyID: keyID)
        }
        let key = try master.wrapper.unwrap(try row.bytes(0), keyID: TenantKeyring.imsWrapID(keyID))
        cache.store(key, tenant: Self.cacheTenant, keyID: keyID)
        return key
    }
}
