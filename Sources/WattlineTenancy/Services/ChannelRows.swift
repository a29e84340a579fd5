import Foundation
import WattlineProtos
import WattlineStore
import WattlineWire

/// Reading channels (with their meter's logger and site) in a tenant transaction.
enum ChannelRows {
    static let select = """
        SELECT c.channel_id, l.site_id, m.logger_id, c.meter_id, c.name_enc, c.quantity, c.unit, c.cumulative,
               c.rollover_value, c.decimal_places, c.created_at, c.updated_at
        FROM wattline.channels c
        JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
        JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
        """

    /// One channel, or nil; `logger` restricts it to channels read through one logger.
    static func read(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, _ channelID: Int64, logger: UUID? = nil,
                     lock: Bool = false) throws -> TenancyV1.Channel? {
        let sql = select + " WHERE c.channel_id = $1 AND ($2::uuid IS NULL OR m.logger_id = $2)" + (lock ? " FOR UPDATE OF c" : "")
        guard let row = try tx.query(sql, [.int64(channelID), logger.map(PGValue.uuid) ?? .null]).first else { return nil }
        return try channel(row, tx, keyring)
    }

    /// A page of channels by channel id, after `after`, optionally of one site, logger or meter.
    static func page(_ tx: borrowing TenantTransaction, _ keyring: TenantKeyring, site: UUID?, logger: UUID?, meter: UUID?,
                     after: Int64, limit: Int) throws -> [TenancyV1.Channel] {
        try tx.query(select + """
             WHERE ($1::uuid IS NULL OR l.site_id = $1) AND ($2::uuid IS NULL OR m.logger_id = $2)
               AND ($3::uuid IS NULL OR c.meter_id = $3) AND c.channel_id > $4
            ORDER BY c.channel_id LIMIT $5
            """, [site.map(PGValue.uuid) ?? .null, logger.map(PGValue.uuid) ?? .null, meter.map(PGValue.uuid) ?? .null,
                  .int64(after), .int64(Int64(limit))]).rows.map { try channel($0, tx, keyring) }
    }

    static func channel(_ row: PGRow, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring) throws -> TenancyV1.Channel {
        let id = try row.int64(0)
        var channel = TenancyV1.Channel()
        channel.channelID = UInt64(id)
        channel.tenantID = tx.tenant.bytes
        channel.siteID = try row.uuid(1).bytes
        channel.loggerID = try row.uuid(2).bytes
        channel.meterID = try row.uuid(3).bytes
        channel.name = try keyring.openText(try row.optionalBytes(4), tx, "channels", "name_enc", row: channelRow(id))
        channel.quantity = TenancyV1.Quantity(storeName: try row.string(5))
        channel.unit = try row.string(6)
        channel.cumulative = try row.bool(7)
        channel.rolloverValue = try row.optionalDouble(8) ?? 0
        channel.decimalPlaces = UInt32(clamping: try row.int64(9))
        channel.createdAtMs = try row.timestampMs(10)
        channel.updatedAtMs = try row.timestampMs(11)
        return channel
    }

    /// The next channel id of the transaction's tenant. Taking it locks the tenant's counter
    /// until commit, so ids are unique per tenant and grow in commit order.
    static func nextID(_ tx: borrowing TenantTransaction) throws -> Int64 {
        try tx.query("UPDATE wattline.tenants SET last_channel_id = last_channel_id + 1 WHERE tenant_id = $1 RETURNING last_channel_id",
                     [.uuid(tx.tenant.uuid)])[0].int64(0)
    }
}

extension Validate {
    /// A channel id in a request: 1 to 2^63-1 (the store's bigint).
    static func channelID(_ value: UInt64) throws -> Int64 {
        guard value > 0, value <= UInt64(Int64.max) else { throw CallFailure.invalidArgument("channel_id must be set") }
        return Int64(value)
    }

    /// A rollover value: finite, not negative, and 0 unless the channel is a counter.
    static func rollover(_ value: Double, cumulative: Bool) throws {
        guard value.isFinite, value >= 0 else {
            throw CallFailure.invalidArgument("rollover_value must be a finite number, 0 or more")
        }
        guard cumulative || value == 0 else {
            throw CallFailure.invalidArgument("rollover_value must be 0 unless the channel is cumulative")
        }
    }

    static func decimalPlaces(_ value: UInt32) throws {
        guard value <= 9 else { throw CallFailure.invalidArgument("decimal_places must be 0 to 9") }
    }
}
