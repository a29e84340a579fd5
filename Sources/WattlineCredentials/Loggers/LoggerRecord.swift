import Foundation
import WattlineStore

/// One row of `wattline.loggers` with its sealed fields opened, and its credentials.
struct LoggerRecord: Sendable {
    let id: UUID
    let tenantID: UUID
    let siteID: UUID
    let serialNumber: String
    let model: String
    let firmwareVersion: String
    let name: String
    let decommissioned: Bool
    let createdAt: Int64
    let lastSeenAt: Int64?
    let decommissionedAt: Int64?
    /// Newest first.
    var credentials: [CredentialRecord]

    static let columns = """
        logger_id, tenant_id, site_id, serial_enc, model, firmware_version, name_enc, status, created_at, \
        last_seen_at, decommissioned_at
        """

    /// Reads a row of `columns`, opening serial number and name with the tenant's key.
    init(row: PGRow, _ tx: borrowing TenantTransaction, keyring: TenantKeyring) throws {
        id = try row.uuid(0)
        tenantID = try row.uuid(1)
        siteID = try row.uuid(2)
        serialNumber = String(decoding: try keyring.open(try row.bytes(3), tx, table: "loggers", column: "serial_enc", row: id.bytes),
                              as: UTF8.self)
        model = try row.string(4)
        firmwareVersion = try row.string(5)
        if let sealed = try row.optionalBytes(6) {
            name = String(decoding: try keyring.open(sealed, tx, table: "loggers", column: "name_enc", row: id.bytes), as: UTF8.self)
        } else {
            name = ""
        }
        decommissioned = try row.string(7) == "decommissioned"
        createdAt = try row.timestampMs(8)
        lastSeenAt = try row.optionalTimestampMs(9)
        decommissionedAt = try row.optionalTimestampMs(10)
        credentials = []
    }

    /// PENDING until a credential works; DECOMMISSIONED for good.
    func isActive(now: Int64) -> Bool {
        !decommissioned && credentials.contains { $0.isUsable(now: now) }
    }
}

/// The SQL of loggers and their credentials, inside a tenant's transaction (row-level security
/// keeps every statement in that tenant).
enum LoggerQueries {
    static func logger(_ id: UUID, _ tx: borrowing TenantTransaction, keyring: TenantKeyring, forUpdate: Bool = false) throws -> LoggerRecord? {
        guard let row = try tx.query(
            "SELECT \(LoggerRecord.columns) FROM wattline.loggers WHERE logger_id = $1" + (forUpdate ? " FOR UPDATE" : ""),
            [.uuid(id)]).first
        else { return nil }
        var record = try LoggerRecord(row: row, tx, keyring: keyring)
        record.credentials = try credentials(ofLoggers: [id], tx)[id] ?? []
        return record
    }

    /// The credentials of these loggers, newest first per logger.
    static func credentials(ofLoggers ids: [UUID], _ tx: borrowing TenantTransaction) throws -> [UUID: [CredentialRecord]] {
        guard !ids.isEmpty else { return [:] }
        let list = ids.map(\.lowercased)
        let rows = try tx.query(
            "SELECT \(CredentialRecord.columns) FROM wattline.credentials WHERE logger_id = ANY($1::text[]::uuid[]) "
                + "ORDER BY created_at DESC, credential_id DESC",
            [.textArray(list)]).rows
        var byLogger: [UUID: [CredentialRecord]] = [:]
        for row in rows {
            let record = try CredentialRecord(row: row)
            if let logger = record.loggerID { byLogger[logger, default: []].append(record) }
        }
        return byLogger
    }

    /// A logger credential by id (never an integration's).
    static func loggerCredential(_ id: UUID, _ tx: borrowing TenantTransaction, forUpdate: Bool = false) throws -> CredentialRecord? {
        try tx.query(
            "SELECT \(CredentialRecord.columns) FROM wattline.credentials WHERE credential_id = $1 "
                + "AND kind IN ('logger_certificate', 'logger_secret')" + (forUpdate ? " FOR UPDATE" : ""),
            [.uuid(id)]).first.map(CredentialRecord.init(row:))
    }

    /// Revokes a credential now unless already revoked; returns the row after.
    static func revoke(_ id: UUID, _ tx: borrowing TenantTransaction, now: Int64) throws -> CredentialRecord? {
        try tx.query(
            "UPDATE wattline.credentials SET revoked_at = coalesce(revoked_at, $2) WHERE credential_id = $1 RETURNING \(CredentialRecord.columns)",
            [.uuid(id), .timestampMs(now)]).first.map(CredentialRecord.init(row:))
    }
}
