import Foundation
import WattlineStore

/// The channels a logger may write are those of meters behind loggers of its site. A stream
/// starts knowing its own logger's channels (a site may have many loggers, a tenant hundreds of
/// thousands of channels); any other channel a batch names is looked up once and remembered.
struct SiteChannels: Sendable {
    var ofSite: Set<UInt64>

    func contains(_ channel: UInt64) -> Bool { ofSite.contains(channel) }
}

/// What the ingest stream needs to know about its logger, read in the logger's tenant.
struct LoggerState: Sendable {
    let lastStoredSequence: UInt64
    var channels: SiteChannels

    static func load(_ store: Store, tenant: TenantID, logger: UUID, site: UUID) async throws -> LoggerState? {
        try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query(
                "SELECT last_stored_sequence, status FROM wattline.loggers WHERE logger_id = $1 AND site_id = $2",
                [.uuid(logger), .uuid(site)]).first, try row.string(1) == "active"
            else { return nil }
            var ofSite: Set<UInt64> = []
            for channel in try tx.query("""
                SELECT c.channel_id FROM wattline.channels c
                JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
                JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
                WHERE m.logger_id = $1
                """, [.uuid(logger)]).rows {
                ofSite.insert(UInt64(try channel.int64(0)))
            }
            return LoggerState(lastStoredSequence: UInt64(max(0, try row.int64(0))), channels: SiteChannels(ofSite: ofSite))
        }
    }

    /// The site of a channel of the tenant; nil when there is no such channel.
    static func site(ofChannel channel: UInt64, _ store: Store, tenant: TenantID) async throws -> UUID? {
        try await store.transaction(tenant: tenant) { tx in
            try tx.query("""
                SELECT l.site_id FROM wattline.channels c
                JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
                JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
                WHERE c.channel_id = $1
                """, [.int64(Int64(bitPattern: channel))]).first?.uuid(0)
        }
    }
}
