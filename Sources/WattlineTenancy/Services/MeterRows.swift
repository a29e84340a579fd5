import Foundation
import WattlineProtos
import WattlineStore
import WattlineWire

/// Reading meters (with their logger's site) in a tenant transaction.
enum MeterRows {
    static let select = """
        SELECT m.meter_id, l.site_id, m.logger_id, m.modbus_address, m.manufacturer, m.model, m.serial_enc, m.name_enc,
               m.created_at, m.updated_at
        FROM wattline.meters m JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
        """

    /// One meter, or nil; `logger` restricts it to one logger's (a logger reading its own).
    static func read(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, _ meterID: UUID, logger: UUID? = nil,
                     lock: Bool = false) throws -> TenancyV1.Meter? {
        let sql = select + " WHERE m.meter_id = $1 AND ($2::uuid IS NULL OR m.logger_id = $2)" + (lock ? " FOR UPDATE OF m" : "")
        guard let row = try tx.query(sql, [.uuid(meterID), logger.map(PGValue.uuid) ?? .null]).first else { return nil }
        return try meter(row, tx, keyring)
    }

    /// A page of meters by id (creation order), after `after`, optionally of one site or logger.
    static func page(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, site: UUID?, logger: UUID?,
                     after: UUID?, limit: Int) throws -> [TenancyV1.Meter] {
        try tx.query(select + """
             WHERE ($1::uuid IS NULL OR l.site_id = $1) AND ($2::uuid IS NULL OR m.logger_id = $2)
               AND ($3::uuid IS NULL OR m.meter_id > $3)
            ORDER BY m.meter_id LIMIT $4
            """, [site.map(PGValue.uuid) ?? .null, logger.map(PGValue.uuid) ?? .null, after.map(PGValue.uuid) ?? .null,
                  .int64(Int64(limit))]).rows.map { try meter($0, tx, keyring) }
    }

    static func meter(_ row: PGRow, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring) throws -> TenancyV1.Meter {
        let id = try row.uuid(0)
        var meter = TenancyV1.Meter()
        meter.meterID = id.bytes
        meter.tenantID = tx.tenant.bytes
        meter.siteID = try row.uuid(1).bytes
        meter.loggerID = try row.uuid(2).bytes
        meter.modbusAddress = UInt32(clamping: try row.int64(3))
        meter.manufacturer = try row.string(4)
        meter.model = try row.string(5)
        meter.serialNumber = try keyring.openText(try row.optionalBytes(6), tx, "meters", "serial_enc", row: id.bytes)
        meter.name = try keyring.openText(try row.optionalBytes(7), tx, "meters", "name_enc", row: id.bytes)
        meter.createdAtMs = try row.timestampMs(8)
        meter.updatedAtMs = try row.timestampMs(9)
        return meter
    }

    /// The logger a meter goes behind: NOT_FOUND if the tenant has none with this id,
    /// FAILED_PRECONDITION if it is decommissioned. Returns its site. The row is share-locked so
    /// that it cannot be decommissioned while the meter is added.
    static func usableLogger(_ tx: borrowing TenantTransaction, _ loggerID: UUID) throws -> UUID {
        guard let row = try tx.query("SELECT site_id, status FROM wattline.loggers WHERE logger_id = $1 FOR SHARE",
                                     [.uuid(loggerID)]).first
        else { throw CallFailure.notFound("no such logger") }
        guard try row.string(1) != "decommissioned" else {
            throw CallFailure.failedPrecondition("the logger is decommissioned")
        }
        return try row.uuid(0)
    }

    /// ALREADY_EXISTS if another meter of the logger has this Modbus address.
    static func checkAddressFree(_ tx: borrowing TenantTransaction, logger: UUID, address: UInt32, except meterID: UUID?) throws {
        let taken = try tx.query("""
            SELECT 1 FROM wattline.meters WHERE logger_id = $1 AND modbus_address = $2 AND ($3::uuid IS NULL OR meter_id <> $3)
            """, [.uuid(logger), .int32(Int32(address)), meterID.map(PGValue.uuid) ?? .null])
        guard taken.count == 0 else {
            throw CallFailure.alreadyExists("another meter of the logger has Modbus address \(address)")
        }
    }
}

extension Validate {
    static func modbusAddress(_ value: UInt32) throws {
        guard (1...247).contains(value) else { throw CallFailure.invalidArgument("modbus_address must be 1 to 247") }
    }
}
