import Foundation
import WattlineStore

/// The channels a logger may write: those of meters behind loggers of its site. Loaded when its
/// stream starts; a channel created later is found by reloading once (`LoggerState.reload`).
struct SiteChannels: Sendable {
    enum Membership { case ofThisSite, ofAnotherSite, unknown }

    let ofSite: Set<UInt64>
    let inTenant: Set<UInt64>

    func membership(of channel: UInt64) -> Membership {
        if ofSite.contains(channel) { return .ofThisSite }
        return inTenant.contains(channel) ? .ofAnotherSite : .unknown
    }
}

/// What the ingest stream needs to know about its logger, read in the logger's tenant.
struct LoggerState: Sendable {
    let lastStoredSequence: UInt64
    let channels: SiteChannels

    static func load(_ store: Store, tenant: TenantID, logger: UUID, site: UUID) async throws -> LoggerState? {
        try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query(
                "SELECT last_stored_sequence, status FROM wattline.loggers WHERE logger_id = $1 AND site_id = $2",
                [.uuid(logger), .uuid(site)]).first, try row.string(1) == "active"
            else { return nil }
            var ofSite: Set<UInt64> = [], inTenant: Set<UInt64> = []
            for channel in try tx.query("""
                SELECT c.channel_id, l.site_id = $1 FROM wattline.channels c
                JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
                JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
                """, [.uuid(site)]).rows {
                let id = UInt64(try channel.int64(0))
                inTenant.insert(id)
                if try channel.bool(1) { ofSite.insert(id) }
            }
            return LoggerState(
                lastStoredSequence: UInt64(max(0, try row.int64(0))), channels: SiteChannels(ofSite: ofSite, inTenant: inTenant))
        }
    }
}
