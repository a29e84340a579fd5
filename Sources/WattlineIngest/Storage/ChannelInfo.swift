import Foundation
import WattlineStore

/// What reading a channel's data needs to know about it: whether it is a cumulative counter (and
/// where it wraps) and its site's time zone, for local days.
public struct ChannelInfo: Sendable, Equatable {
    public let channel: UInt64
    public let cumulative: Bool
    /// 0 when not known.
    public let rolloverValue: Double
    public let timeZone: String
    public let siteID: UUID

    /// The first of `channels` the transaction's tenant does not have (a cheaper check than `load`).
    public static func firstMissing(_ tx: borrowing TenantTransaction, _ channels: [UInt64]) throws -> UInt64? {
        let rows = try tx.query(
            "SELECT channel_id FROM wattline.channels WHERE channel_id = ANY($1::text[]::bigint[])",
            [.textArray(channels.map { String(Int64(bitPattern: $0)) })])
        let found = Set(try rows.rows.map { UInt64(bitPattern: try $0.int64(0)) })
        return channels.first { !found.contains($0) }
    }

    /// The channels of the transaction's tenant among `channels` (others are simply absent).
    public static func load(_ tx: borrowing TenantTransaction, _ channels: some Collection<UInt64>) throws -> [UInt64: ChannelInfo] {
        guard !channels.isEmpty else { return [:] }
        let rows = try tx.query(
            """
            SELECT c.channel_id, c.cumulative, COALESCE(c.rollover_value, 0), s.time_zone, s.site_id
            FROM wattline.channels c
            JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
            JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
            JOIN wattline.sites s ON s.tenant_id = l.tenant_id AND s.site_id = l.site_id
            WHERE c.channel_id = ANY($1::text[]::bigint[])
            """,
            [.textArray(channels.map { String(Int64(bitPattern: $0)) })])
        var infos: [UInt64: ChannelInfo] = [:]
        for row in rows.rows {
            let channel = UInt64(bitPattern: try row.int64(0))
            infos[channel] = ChannelInfo(
                channel: channel, cumulative: try row.bool(1), rolloverValue: try row.double(2), timeZone: try row.string(3),
                siteID: try row.uuid(4))
        }
        return infos
    }
}
