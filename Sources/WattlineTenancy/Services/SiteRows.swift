import Foundation
import WattlineProtos
import WattlineStore
import WattlineWire

/// Reading and checking sites in a tenant transaction.
enum SiteRows {
    static let columns = "site_id, name_enc, address_enc, time_zone, responsible_identity_id, created_at, updated_at"

    /// One site, or nil; `lock` holds it for an update.
    static func read(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, _ siteID: UUID, lock: Bool = false) throws -> TenancyV1.Site? {
        let sql = "SELECT \(columns) FROM wattline.sites WHERE site_id = $1" + (lock ? " FOR UPDATE" : "")
        guard let row = try tx.query(sql, [.uuid(siteID)]).first else { return nil }
        return try site(row, tx, keyring)
    }

    /// Every site of the tenant (sites are few per tenant; listings sort them by their sealed names).
    static func all(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring) throws -> [TenancyV1.Site] {
        try tx.query("SELECT \(columns) FROM wattline.sites").rows.map { try site($0, tx, keyring) }
    }

    static func site(_ row: PGRow, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring) throws -> TenancyV1.Site {
        let id = try row.uuid(0)
        var site = TenancyV1.Site()
        site.siteID = id.bytes
        site.tenantID = tx.tenant.bytes
        site.name = try keyring.openText(try row.bytes(1), tx, "sites", "name_enc", row: id.bytes)
        if let sealed = try row.optionalBytes(2) {
            site.address = try TenancyV1.Address(serializedBytes: try keyring.open(sealed, tx, table: "sites", column: "address_enc", row: id.bytes))
        }
        site.timeZone = try row.string(3)
        site.responsibleIdentityID = try row.optionalUUID(4)?.bytes ?? []
        site.createdAtMs = try row.timestampMs(5)
        site.updatedAtMs = try row.timestampMs(6)
        return site
    }

    /// ALREADY_EXISTS when another site of the tenant has this name (compared by `nameKey`).
    /// Names are sealed, so they are compared opened; the caller holds the tenant row's lock
    /// (`TenantRows.lock`), which makes check and write one step for concurrent requests.
    static func checkNameFree(_ name: String, except siteID: UUID?, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring) throws {
        let key = nameKey(name)
        for row in try tx.query("SELECT site_id, name_enc FROM wattline.sites").rows {
            let id = try row.uuid(0)
            guard id != siteID else { continue }
            if nameKey(try keyring.openText(try row.bytes(1), tx, "sites", "name_enc", row: id.bytes)) == key {
                throw CallFailure.alreadyExists("the tenant already has a site called \"\(name)\"")
            }
        }
    }

    /// FAILED_PRECONDITION unless the identity holds a role in the tenant.
    static func checkMember(_ identityID: UUID, _ tx: borrowing TenantTransaction) throws {
        guard try tx.query("SELECT 1 FROM wattline.memberships WHERE identity_id = $1", [.uuid(identityID)]).count == 1 else {
            throw CallFailure.failedPrecondition("the Responsible must hold a role in the tenant")
        }
    }
}
