import Foundation
import Synchronization
import WattlineCrypto
import WattlineStore

/// The blind index that keeps one model and serial number registered once across all tenants
/// (`loggers.serial_index`, unique among loggers in service). Serial numbers are sealed per
/// tenant, so the index must come from a key of no tenant: a random key sealed in
/// `wattline.platform_secrets` under the data key of the platform scope (the all-zero tenant id),
/// which master-key rotation re-wraps along with every tenant's key. Created on first use.
final class SerialIndex: Sendable {
    static let platformScope = TenantID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    static let secretName = "logger-serial-index"

    private let store: Store
    private let keyring: TenantKeyring
    private let index = Mutex<BlindIndex?>(nil)

    init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
    }

    /// HMAC of the model and serial number (NFC, so that one spelling is one logger).
    func index(model: String, serialNumber: String) async throws -> [UInt8] {
        let value = Array(model.precomposedStringWithCanonicalMapping.utf8) + [0]
            + Array(serialNumber.precomposedStringWithCanonicalMapping.utf8)
        return try await blindIndex().index(value)
    }

    private func blindIndex() async throws -> BlindIndex {
        if let known = index.withLock({ $0 }) { return known }
        let keyring = keyring
        let name = Self.secretName
        let keyBytes = try await store.transaction(tenant: Self.platformScope) { tx in
            let row = Array(name.utf8)
            if let sealed = try tx.query("SELECT secret_enc FROM wattline.platform_secrets WHERE name = $1", [.text(name)]).first {
                return try keyring.open(try sealed.bytes(0), tx, table: "platform_secrets", column: "secret_enc", row: row)
            }
            // First use anywhere: make the key; a concurrent first use on another node wins or loses
            // the insert, and both then read the one stored key.
            let fresh = try SecretKey.random().withUnsafeBytes { Array($0) }
            let sealed = try keyring.seal(fresh, tx, table: "platform_secrets", column: "secret_enc", row: row)
            try tx.query("INSERT INTO wattline.platform_secrets (tenant_id, name, secret_enc) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                         [.uuid(tx.tenant.uuid), .text(name), .bytea(sealed)])
            let stored = try tx.query("SELECT secret_enc FROM wattline.platform_secrets WHERE name = $1", [.text(name)])[0]
            return try keyring.open(try stored.bytes(0), tx, table: "platform_secrets", column: "secret_enc", row: row)
        }
        let made = BlindIndex(key: try SecretKey(bytes: keyBytes).derive(label: "logger-serial-index"))
        index.withLock { $0 = made }
        return made
    }
}
