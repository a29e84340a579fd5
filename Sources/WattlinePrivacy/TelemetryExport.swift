import Foundation
import WattlineAccess
import WattlineConsent
import WattlineCrypto
import WattlineIngest
import WattlineProtos
import WattlineStore
import WattlineWire

/// `PrivacyService.ExportTelemetry`: a site's raw telemetry over a range as one CSV or JSON Lines
/// file, streamed as a header, chunks of whole lines, and a manifest with the file's SHA-256.
/// Each day of data is read in its own transaction, which first passes the export gate: a
/// revocation stops an export at the next day.
struct TelemetryExport {
    static let maxRangeMs: Int64 = 366 * 86_400_000
    static let windowMs: Int64 = 86_400_000

    let store: Store
    let keyring: TenantKeyring
    let series: SeriesReader

    struct Channel {
        let exported: PrivacyV1.ExportedChannel
    }

    func run(
        _ request: PrivacyV1.ExportTelemetryRequest, _ responses: ResponseWriter<PrivacyV1.ExportTelemetryResponse>, _ context: CallContext
    ) async throws {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let site = try requiredID(request.siteID, "site_id")
        guard request.format == .csv || request.format == .jsonLines else { throw CallFailure.invalidArgument("format must be CSV or JSON_LINES") }
        guard let range = request.range, range.startMs < range.endMs else { throw CallFailure.invalidArgument("range must have start_ms < end_ms") }
        guard range.endMs - range.startMs <= Self.maxRangeMs else { throw CallFailure.invalidArgument("range must be at most 366 days") }
        let (keyring, method, caller) = (keyring, context.method, context.principal)
        let (siteName, channels) = try await store.transaction(tenant: tenant) { tx -> (String, [PrivacyV1.ExportedChannel]) in
            try ExportPaths.check(tx, method: method, caller: caller, sites: [site])
            guard let row = try tx.query("SELECT name_enc FROM wattline.sites WHERE site_id = $1", [.uuid(site)]).first else {
                throw CallFailure.notFound("no such site")
            }
            let name = try keyring.openText(try row.bytes(0), tx, "sites", "name_enc", row: site.bytes)
            return (name, try Self.channels(tx, keyring: keyring, site: site, asked: request.channelIDs))
        }
        let exportID = UUID.v7()
        let started = Int64(Date().timeIntervalSince1970 * 1_000)
        try await responses.write(.with {
            $0.part = .header(.with {
                $0.exportID = exportID.bytes
                $0.tenantID = tenant.bytes
                $0.siteID = site.bytes
                $0.format = request.format
                $0.range = range
                $0.channels = channels
                $0.contentType = request.format == .csv ? "text/csv; charset=utf-8" : "application/jsonl"
                $0.fileName = Self.fileName(siteName, range, request.format)
                $0.startedAtMs = started
            })
        })
        var file = try ExportFile(format: request.format)
        let decimals = Dictionary(uniqueKeysWithValues: channels.map { ($0.channelID, Int($0.decimalPlaces)) })
        let ids = channels.map(\.channelID)
        var from = range.startMs
        while from < range.endMs {
            let (windowStart, to) = (from, min(range.endMs, from + Self.windowMs))
            let found = try await store.transaction(tenant: tenant) { [series] tx in
                try ExportPaths.check(tx, method: method, caller: caller, sites: [site])
                return try series.samples(tx, channels: ids, fromMs: windowStart, toMs: to - 1)
            }
            // In time order, then by channel id.
            var rows: [(time: Int64, channel: UInt64, value: Double, quality: UInt32)] = []
            for (channel, blocks) in found {
                for block in blocks {
                    for index in 0..<block.count { rows.append((block.timesMs[index], channel, block.values[index], block.qualities[index])) }
                }
            }
            rows.sort { ($0.time, $0.channel) < ($1.time, $1.channel) }
            for row in rows {
                if let chunk = try file.append(timeMs: row.time, channel: row.channel, value: row.value, decimals: decimals[row.channel] ?? 3, quality: row.quality) {
                    try await responses.write(.with { $0.part = .chunk(chunk) })
                }
            }
            from = to
        }
        if let chunk = try file.flush() { try await responses.write(.with { $0.part = .chunk(chunk) }) }
        let digest = try file.hasher.finish()
        try await responses.write(.with {
            $0.part = .manifest(.with {
                $0.exportID = exportID.bytes
                $0.range = range
                $0.channelIDs = ids
                $0.rowCount = file.rows
                $0.byteCount = file.offset
                $0.contentSHA256 = digest
                $0.completedAtMs = Int64(Date().timeIntervalSince1970 * 1_000)
            })
        })
    }

    /// The site's channels, or those asked for (each must be of the site).
    static func channels(_ tx: borrowing TenantTransaction, keyring: TenantKeyring, site: UUID, asked: [UInt64]) throws -> [PrivacyV1.ExportedChannel] {
        let rows = try tx.query(
            """
            SELECT c.channel_id, c.meter_id, c.name_enc, c.unit, c.cumulative, c.decimal_places
            FROM wattline.channels c
            JOIN wattline.meters m ON m.tenant_id = c.tenant_id AND m.meter_id = c.meter_id
            JOIN wattline.loggers l ON l.tenant_id = m.tenant_id AND l.logger_id = m.logger_id
            WHERE l.site_id = $1 ORDER BY c.channel_id
            """, [.uuid(site)])
        var all: [UInt64: PrivacyV1.ExportedChannel] = [:]
        for row in rows.rows {
            let id = try row.int64(0)
            all[UInt64(bitPattern: id)] = .with {
                $0.channelID = UInt64(bitPattern: id)
                $0.meterID = (try? row.uuid(1).bytes) ?? []
                $0.name = (try? keyring.openText(try row.optionalBytes(2), tx, "channels", "name_enc", row: withUnsafeBytes(of: id.bigEndian) { Array($0) })) ?? ""
                $0.unit = (try? row.string(3)) ?? ""
                $0.cumulative = (try? row.bool(4)) ?? false
                $0.decimalPlaces = UInt32((try? row.int64(5)) ?? 3)
            }
        }
        guard !asked.isEmpty else { return all.keys.sorted().map { all[$0]! } }
        guard asked.count <= 1_000, Set(asked).count == asked.count else { throw CallFailure.invalidArgument("channel_ids must name 1 to 1,000 distinct channels") }
        if let foreign = asked.first(where: { all[$0] == nil }) { throw CallFailure.invalidArgument("channel \(foreign) is not a channel of this site") }
        return asked.sorted().map { all[$0]! }
    }

    /// "plant-1_2026-11-01_2026-11-29.csv": the site's name reduced to safe characters.
    static func fileName(_ site: String, _ range: PrivacyV1.TimeRange, _ format: PrivacyV1.ExportFormat) -> String {
        let safe = site.lowercased().map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : "-" }
        let day = { (ms: Int64) in String(ExportFile.rfc3339(ms).prefix(10)) }
        return "\(String(safe).prefix(60))_\(day(range.startMs))_\(day(range.endMs)).\(format == .csv ? "csv" : "jsonl")"
    }
}
