import Foundation
import WattlineCrypto

/// Per-tenant data keys and the sealing of sensitive values with them (envelope encryption).
///
/// Each tenant has data keys (AES-256) stored in `wattline.data_keys`, wrapped by the master
/// key; one is active for new writes, older ones stay readable until re-encryption retires
/// them. A sealed value is `key id (4 bytes, big-endian) ‖ AEAD sealed box`, and its associated
/// data binds tenant, table, column and row, so a ciphertext copied to another row, column or
/// tenant does not open. Deleting a tenant's key rows makes its sealed data unrecoverable
/// (crypto-shredding). Unwrapped keys are cached for `cacheLifetime` only, so a shredded key
/// disappears from every server node within that time.
public final class TenantKeyring: Sendable {
    private let master: MasterKey
    private let cache: KeyCache

    public init(master: MasterKey, cacheLifetime: Duration = .seconds(60)) {
        self.master = master
        self.cache = KeyCache(lifetime: cacheLifetime)
    }

    /// Creates the tenant's first data key, or returns the active one's id if it has one.
    @discardableResult
    public func ensureKey(_ tx: borrowing TenantTransaction) throws -> Int32 {
        if let active = try tx.query("SELECT key_id FROM wattline.data_keys WHERE status = 'active'").first {
            return Int32(try active.int64(0))
        }
        return try addKey(tx, retiring: false)
    }

    /// Starts a new data key for new writes; the previous one stays readable (status `retired`).
    @discardableResult
    public func rotateKey(_ tx: borrowing TenantTransaction) throws -> Int32 {
        try addKey(tx, retiring: true)
    }

    private func addKey(_ tx: borrowing TenantTransaction, retiring: Bool) throws -> Int32 {
        let next = Int32(try tx.query("SELECT coalesce(max(key_id), 0) + 1 FROM wattline.data_keys")[0].int64(0))
        if retiring { try tx.query("UPDATE wattline.data_keys SET status = 'retired' WHERE status = 'active'") }
        let key = try SecretKey.random()
        let wrapped = try master.wrapper.wrap(key, keyID: Self.wrapID(tx.tenant, next))
        try tx.query(
            "INSERT INTO wattline.data_keys (tenant_id, key_id, wrapped_key, master_key_id, status) VALUES ($1, $2, $3, $4, 'active')",
            [.uuid(tx.tenant.uuid), .int32(next), .bytea(wrapped), .text(master.id)])
        cache.store(key, tenant: tx.tenant, keyID: next)
        return next
    }

    /// Re-seals every value of `table.column` (rows identified by the uuid column `rowColumn`) that
    /// is not under the active key; after it has run for every sealed column, retired keys can go.
    /// Returns the number of values re-sealed.
    @discardableResult
    public func reseal(_ tx: borrowing TenantTransaction, table: String, column: String, rowColumn: String) throws -> Int {
        let active = try ensureKey(tx)
        let rows = try tx.query(
            "SELECT \(rowColumn), \(column) FROM wattline.\(table) WHERE \(column) IS NOT NULL AND substring(\(column) from 1 for 4) <> $1",
            [.bytea(active.bigEndianBytes)]).rows
        for row in rows {
            let id = try row.uuid(0)
            let rowBytes = withUnsafeBytes(of: id.uuid) { Array($0) }
            let plaintext = try open(try row.bytes(1), tx, table: table, column: column, row: rowBytes)
            let sealed = try seal(plaintext, tx, table: table, column: column, row: rowBytes)
            try tx.query("UPDATE wattline.\(table) SET \(column) = $1 WHERE \(rowColumn) = $2", [.bytea(sealed), .uuid(id)])
        }
        return rows.count
    }

    /// Destroys every data key of the tenant: its sealed data can never be opened again.
    public func shred(_ tx: borrowing TenantTransaction) throws {
        try tx.query("DELETE FROM wattline.data_keys")
        cache.evict(tenant: tx.tenant)
    }

    /// Seals `plaintext` for `table.column` of row `row` with the tenant's active key.
    public func seal(_ plaintext: [UInt8], _ tx: borrowing TenantTransaction, table: String, column: String, row: [UInt8]) throws -> [UInt8] {
        let keyID = try ensureKey(tx)
        let ad = try AssociatedData(tenant: tx.tenant.bytes, table: table, column: column, row: row)
        return try SealedValue.seal(plaintext, keyID: keyID, key: key(tx, keyID), associatedData: ad)
    }

    /// Opens a value sealed by `seal` for the same tenant, table, column and row.
    public func open(_ sealed: [UInt8], _ tx: borrowing TenantTransaction, table: String, column: String, row: [UInt8]) throws -> [UInt8] {
        let ad = try AssociatedData(tenant: tx.tenant.bytes, table: table, column: column, row: row)
        return try SealedValue.open(sealed, key: key(tx, SealedValue.keyID(of: sealed)), associatedData: ad)
    }

    /// Opens many values of one column (a query's rows) with one cipher context per data key
    /// instead of one per value; the same checks as `open`.
    public func openAll(
        _ values: [(sealed: [UInt8], row: [UInt8])], _ tx: borrowing TenantTransaction, table: String, column: String
    ) throws -> [[UInt8]] {
        var contexts: [Int32: AEAD.Context] = [:]
        var opened: [[UInt8]] = []
        opened.reserveCapacity(values.count)
        for (sealed, row) in values {
            let keyID = try SealedValue.keyID(of: sealed)
            let context: AEAD.Context
            if let known = contexts[keyID] {
                context = known
            } else {
                context = try AEAD.Context(key: key(tx, keyID))
                contexts[keyID] = context
            }
            let ad = try AssociatedData(tenant: tx.tenant.bytes, table: table, column: column, row: row)
            opened.append(try context.open(Array(sealed.dropFirst(4)), associatedData: ad.bytes))
        }
        return opened
    }

    /// The data key `keyID` of the transaction's tenant, unwrapped (cached briefly). For data
    /// sealed in its own format (telemetry blocks), which keeps the key id beside the ciphertext.
    public func key(_ tx: borrowing TenantTransaction, _ keyID: Int32) throws -> SecretKey {
        if let cached = cache.key(tenant: tx.tenant, keyID: keyID) { return cached }
        guard let row = try tx.query(
            "SELECT wrapped_key FROM wattline.data_keys WHERE key_id = $1", [.int32(keyID)]).first
        else {
            throw KeyringError.keyDestroyed(tenant: tx.tenant, keyID: keyID)
        }
        let key = try master.wrapper.unwrap(try row.bytes(0), keyID: Self.wrapID(tx.tenant, keyID))
        cache.store(key, tenant: tx.tenant, keyID: keyID)
        return key
    }

    /// What a wrapped key is bound to: a wrapping copied to another tenant or id does not unwrap.
    static func wrapID(_ tenant: TenantID, _ keyID: Int32) -> String { "tenant:\(tenant):\(keyID)" }

    /// Re-wraps every data key from `old` to `new` without touching any sealed data. Runs as
    /// the administrative role (it crosses tenants); returns the number of keys re-wrapped.
    public static func rotateMaster(adminConninfo: String, from old: MasterKey, to new: MasterKey) throws -> Int {
        let connection = try PGConnection(conninfo: adminConninfo)
        return try connection.inTransaction(isolation: .serializable, timeout: nil, attempts: 3, setup: []) {
            var count = 0
            let rows = try connection.query(
                "SELECT tenant_id, key_id, wrapped_key, master_key_id FROM wattline.data_keys FOR UPDATE").rows
            for row in rows {
                let tenant = TenantID(try row.uuid(0))
                let keyID = Int32(try row.int64(1))
                guard try row.string(3) != new.id else { continue }
                guard try row.string(3) == old.id else {
                    throw KeyringError.unknownMasterKey(try row.string(3))
                }
                let rewrapped = try old.wrapper.rewrap(try row.bytes(2), keyID: wrapID(tenant, keyID), to: new.wrapper)
                try connection.query(
                    "UPDATE wattline.data_keys SET wrapped_key = $3, master_key_id = $4 WHERE tenant_id = $1 AND key_id = $2",
                    [.uuid(tenant.uuid), .int32(keyID), .bytea(rewrapped), .text(new.id)])
                count += 1
            }
            // The identity service's data keys, in its own schema.
            for row in try connection.query("SELECT key_id, wrapped_key, master_key_id FROM ims.data_keys FOR UPDATE").rows {
                let keyID = Int32(try row.int64(0))
                guard try row.string(2) != new.id else { continue }
                guard try row.string(2) == old.id else { throw KeyringError.unknownMasterKey(try row.string(2)) }
                let rewrapped = try old.wrapper.rewrap(try row.bytes(1), keyID: imsWrapID(keyID), to: new.wrapper)
                try connection.query("UPDATE ims.data_keys SET wrapped_key = $2, master_key_id = $3 WHERE key_id = $1",
                                     [.int32(keyID), .bytea(rewrapped), .text(new.id)])
                count += 1
            }
            return count
        }
    }

    /// What an identity-service data key's wrapping is bound to.
    public static func imsWrapID(_ keyID: Int32) -> String { "ims:\(keyID)" }
}

/// Why a key could not be used.
public enum KeyringError: Error, CustomStringConvertible {
    /// The key was shredded (or never existed): the data it sealed is unrecoverable.
    case keyDestroyed(tenant: TenantID, keyID: Int32)
    /// A data key is wrapped by a master key that is neither the old nor the new one.
    case unknownMasterKey(String)

    public var description: String {
        switch self {
        case .keyDestroyed(let tenant, let keyID): "data key \(keyID) of tenant \(tenant) does not exist (destroyed?)"
        case .unknownMasterKey(let id): "a data key is wrapped by unknown master key \(id)"
        }
    }
}

extension TenantID {
    /// The 16 bytes of the UUID.
    public var bytes: [UInt8] { withUnsafeBytes(of: uuid.uuid) { Array($0) } }
}

/// Unwrapped data keys, kept for a short time.
final class KeyCache: @unchecked Sendable {
    private struct Entry {
        let key: SecretKey
        let expires: ContinuousClock.Instant
    }

    private let lifetime: Duration
    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    init(lifetime: Duration) { self.lifetime = lifetime }

    func key(tenant: TenantID, keyID: Int32) -> SecretKey? {
        lock.lock()
        defer { lock.unlock() }
        let name = "\(tenant):\(keyID)"
        guard let entry = entries[name] else { return nil }
        guard entry.expires > .now else {
            entries[name] = nil
            return nil
        }
        return entry.key
    }

    func store(_ key: SecretKey, tenant: TenantID, keyID: Int32) {
        lock.lock()
        entries["\(tenant):\(keyID)"] = Entry(key: key, expires: .now + lifetime)
        lock.unlock()
    }

    func evict(tenant: TenantID) {
        lock.lock()
        entries = entries.filter { !$0.key.hasPrefix("\(tenant):") }
        lock.unlock()
    }
}
