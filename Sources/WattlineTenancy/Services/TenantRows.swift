import Foundation
import WattlineProtos
import WattlineStore

/// Reading a tenant's row as the contract's `Tenant`.
enum TenantRows {
    static let columns = """
        tenant_id, name_enc, legal_name_enc, country_code, status, created_at, updated_at,
        offboarding_requested_at, purge_not_before, purge_started_at, retention_days
        """

    struct Row {
        var tenant: TenancyV1.Tenant
        /// Whether the purge has begun (off-boarding can no longer be cancelled).
        var purgeStarted: Bool
    }

    /// The transaction's own tenant, locked against concurrent changes when `lock`: the tenant
    /// row's lock also serialises membership changes, Responsibles and site names in the tenant.
    static func read(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, lock: Bool = false) throws -> Row? {
        let sql = "SELECT \(columns) FROM wattline.tenants WHERE tenant_id = $1" + (lock ? " FOR NO KEY UPDATE" : "")
        guard let row = try tx.query(sql, [.uuid(tx.tenant.uuid)]).first else { return nil }
        let id = try row.uuid(0)
        let state = TenancyV1.TenantState(storeName: try row.string(4))
        var tenant = TenancyV1.Tenant()
        tenant.tenantID = id.bytes
        // An off-boarded tenant's key is destroyed: only the record's plain fields remain.
        if state == .offboarded {
            tenant.name = (try? keyring.openText(try row.bytes(1), tx, "tenants", "name_enc", row: id.bytes)) ?? ""
            tenant.legalName = (try? keyring.openText(try row.optionalBytes(2), tx, "tenants", "legal_name_enc", row: id.bytes)) ?? ""
        } else {
            tenant.name = try keyring.openText(try row.bytes(1), tx, "tenants", "name_enc", row: id.bytes)
            tenant.legalName = try keyring.openText(try row.optionalBytes(2), tx, "tenants", "legal_name_enc", row: id.bytes)
        }
        tenant.countryCode = try row.string(3)
        tenant.state = state
        tenant.createdAtMs = try row.timestampMs(5)
        tenant.updatedAtMs = try row.timestampMs(6)
        tenant.offboardingRequestedAtMs = try row.optionalTimestampMs(7) ?? 0
        tenant.purgeNotBeforeMs = try row.optionalTimestampMs(8) ?? 0
        tenant.retentionDays = UInt32(try row.optionalInt64(10) ?? 0)
        return Row(tenant: tenant, purgeStarted: try row.optionalTimestampMs(9) != nil)
    }

    /// Locks the transaction's tenant row (see `read`); NOT_FOUND-free: the caller's tenant exists.
    static func lock(_ tx: borrowing TenantTransaction) throws {
        try tx.query("SELECT 1 FROM wattline.tenants WHERE tenant_id = $1 FOR NO KEY UPDATE", [.uuid(tx.tenant.uuid)])
    }
}
