import Foundation
import WattlineAccess
import WattlineConsent
import WattlineIngest
import WattlineProtos
import WattlineStore
import WattlineTelemetry
import WattlineWire

/// `wattline.telemetry.v1.QueryService`: raw samples, aggregates per bucket, energy from
/// cumulative counters and latest values, for the channels of the call's tenant (docs/queries.md).
/// Aggregates and energy sum rollups where a rollup level nests in the query's buckets and read
/// raw samples elsewhere (`SummaryPieces`), so every answer equals the brute-force one.
public final class QueryService: Sendable {
    let store: Store
    let series: SeriesReader
    let rollups: RollupReader

    /// Most channels one ReadRaw, ReadAggregates or ReadEnergy names; ReadLatest takes more.
    static let maxChannels = 1_000
    static let maxLatestChannels = 5_000
    /// Samples per streamed raw chunk (≈ 13 bytes each on the wire, far below the message limit).
    static let samplesPerChunk = 65_536
    /// Buckets per streamed aggregate message (8 columns of 8 bytes).
    static let bucketsPerMessage = 16_384
    /// Entries (channels × buckets) of one unary energy answer.
    static let maxEnergyEntries = 200_000
    /// Raw reads go a week at a time, so memory stays bounded whatever the range.
    static let rawWindowMs: Int64 = 7 * 86_400_000

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.series = SeriesReader(keyring: keyring)
        self.rollups = RollupReader(keyring: keyring)
    }

    public func register(in router: inout Router) {
        router.serverStreaming(TelemetryV1.QueryService.ReadRaw.self) { [self] request, responses, context in
            try await readRaw(request, responses, context)
        }
        router.serverStreaming(TelemetryV1.QueryService.ReadAggregates.self) { [self] request, responses, context in
            try await readAggregates(request, responses, context)
        }
        router.unary(TelemetryV1.QueryService.ReadEnergy.self) { [self] request, context in
            try await readEnergy(request, context)
        }
        router.unary(TelemetryV1.QueryService.ReadLatest.self) { [self] request, context in
            try await readLatest(request, context)
        }
    }

    func readRaw(
        _ request: TelemetryV1.ReadRawRequest, _ responses: ResponseWriter<TelemetryV1.ReadRawResponse>, _ context: CallContext
    ) async throws {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let channels = try Self.channels(request.channelIDs, atMost: Self.maxChannels)
        let range = try Self.range(request.range)
        let sites = try await store.transaction(tenant: tenant) { tx in try Self.infos(tx, channels).mapValues(\.siteID) }
        let (series, method, caller) = (series, context.method, context.principal)
        for channel in channels {
            var left = request.limitPerChannel == 0 ? Int.max : Int(request.limitPerChannel)
            var from = range.startMs
            while from < range.endMs, left > 0 {
                let (windowStart, to) = (from, min(range.endMs, from + Self.rawWindowMs))
                let found = try await store.transaction(tenant: tenant) { tx in
                    try ExportPaths.check(tx, method: method, caller: caller, sites: [sites[channel]!])
                    return try series.samples(tx, channel: channel, fromMs: windowStart, toMs: to - 1)
                }
                for block in found where left > 0 {
                    for chunk in RawChunks.chunks(channel: channel, block, limit: min(left, Self.samplesPerChunk)) {
                        left -= chunk.timeDeltasMs.count
                        try await responses.write(.with { $0.chunk = chunk })
                        if left == 0 { break }
                    }
                }
                from = to
            }
        }
    }

    func readAggregates(
        _ request: TelemetryV1.ReadAggregatesRequest, _ responses: ResponseWriter<TelemetryV1.ReadAggregatesResponse>,
        _ context: CallContext
    ) async throws {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let channels = try Self.channels(request.channelIDs, atMost: Self.maxChannels)
        let range = try Self.range(request.range)
        guard request.functions & ~0x7f == 0 else { throw CallFailure.invalidArgument("functions has unknown AggregateFunction bits") }
        let functions = request.functions == 0 ? 0x7f : request.functions
        let pieces = SummaryPieces(rollups: rollups, series: series)
        let (method, caller) = (context.method, context.principal)
        let answers = try await store.transaction(tenant: tenant) { tx -> [(UInt64, BucketGrid, [SampleSummary?])] in
            let infos = try Self.infos(tx, channels)
            try ExportPaths.check(tx, method: method, caller: caller, sites: infos.values.map(\.siteID))
            // Channels of one site share a grid and read together.
            var answers: [(UInt64, BucketGrid, [SampleSummary?])] = []
            for (zone, group) in Self.bySite(channels, infos) {
                let grid = try BucketGrid(range: range, bucketing: request.bucketing, siteZone: zone)
                let found = try pieces.pieces(
                    tx, channels: group, fromMs: range.startMs, toMs: range.endMs, throughEnd: false,
                    levels: grid.levels(siteZone: zone), site: LocalCalendar(zone: zone))
                for channel in group { answers.append((channel, grid, Folds.aggregates(found[channel] ?? [], grid: grid))) }
            }
            return answers
        }
        let order = [UInt64: Int](uniqueKeysWithValues: channels.enumerated().map { ($1, $0) })
        for (channel, grid, summaries) in answers.sorted(by: { order[$0.0]! < order[$1.0]! }) {
            for message in AggregateColumns.messages(channel: channel, grid: grid, summaries, functions: functions, perMessage: Self.bucketsPerMessage) {
                try await responses.write(message)
            }
        }
    }

    func readEnergy(_ request: TelemetryV1.ReadEnergyRequest, _ context: CallContext) async throws -> TelemetryV1.ReadEnergyResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let channels = try Self.channels(request.channelIDs, atMost: Self.maxChannels)
        let range = try Self.range(request.range)
        let pieces = SummaryPieces(rollups: rollups, series: series)
        let (method, caller) = (context.method, context.principal)
        return try await store.transaction(tenant: tenant) { tx in
            let infos = try Self.infos(tx, channels)
            try ExportPaths.check(tx, method: method, caller: caller, sites: infos.values.map(\.siteID))
            if let plain = channels.first(where: { !infos[$0]!.cumulative }) {
                throw CallFailure.invalidArgument("channel \(plain) is not a cumulative counter; read its aggregates instead")
            }
            var series: [UInt64: TelemetryV1.EnergySeries] = [:]
            var entries = 0
            for (zone, group) in Self.bySite(channels, infos) {
                let grid = try BucketGrid(range: range, bucketing: request.bucketing, siteZone: zone)
                entries += grid.starts.count * group.count
                guard entries <= Self.maxEnergyEntries else {
                    throw CallFailure.invalidArgument("more than \(Self.maxEnergyEntries) channel buckets in one answer; narrow the range or use larger buckets")
                }
                let found = try pieces.pieces(
                    tx, channels: group, fromMs: range.startMs, toMs: range.endMs, throughEnd: true,
                    levels: grid.levels(siteZone: zone), site: LocalCalendar(zone: zone))
                for channel in group {
                    let increases = Folds.energy(found[channel] ?? [], grid: grid)
                    let rollover = infos[channel]!.rolloverValue
                    series[channel] = .with {
                        $0.channelID = channel
                        $0.bucketStartMs = grid.starts
                        $0.consumption = increases.map { $0.consumption(rolloverValue: rollover) }
                        $0.resets = increases.map(\.resets)
                    }
                }
            }
            return .with { response in response.series = channels.map { series[$0]! } }
        }
    }

    func readLatest(_ request: TelemetryV1.ReadLatestRequest, _ context: CallContext) async throws -> TelemetryV1.ReadLatestResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let channels = try Self.channels(request.channelIDs, atMost: Self.maxLatestChannels)
        let (rollups, method, caller) = (rollups, context.method, context.principal)
        return try await store.transaction(tenant: tenant) { tx in
            if ExportPaths.scope(for: method, caller: caller) != nil {
                try ExportPaths.check(tx, method: method, caller: caller, sites: try Self.infos(tx, channels).values.map(\.siteID))
            } else if let missing = try ChannelInfo.firstMissing(tx, channels) {
                throw CallFailure.notFound("channel \(missing) does not exist in this tenant")
            }
            let latest = try rollups.latest(tx, channels: channels)
            var response = TelemetryV1.ReadLatestResponse()
            for channel in channels {
                guard let reading = latest[channel] else { continue }
                response.channelIDs.append(channel)
                response.timesMs.append(reading.timeMs)
                response.values.append(reading.value)
                response.qualities.append(reading.quality)
            }
            return response
        }
    }

    // MARK: Validation

    static func channels(_ ids: [UInt64], atMost limit: Int) throws -> [UInt64] {
        guard !ids.isEmpty, ids.count <= limit else { throw CallFailure.invalidArgument("channel_ids must name 1 to \(limit) channels") }
        guard Set(ids).count == ids.count else { throw CallFailure.invalidArgument("channel_ids names a channel twice") }
        guard !ids.contains(0) else { throw CallFailure.invalidArgument("channel_ids holds 0, which is no channel") }
        return ids
    }

    static func range(_ range: TelemetryV1.TimeRange?) throws -> TelemetryV1.TimeRange {
        guard let range else { throw CallFailure.invalidArgument("range is required") }
        let limit: Int64 = 1 << 53
        guard range.startMs < range.endMs, range.startMs > -limit, range.endMs < limit else {
            throw CallFailure.invalidArgument("range must have start_ms < end_ms, both within ±2^53")
        }
        return range
    }

    /// The channels' facts; NOT_FOUND names the first one the tenant does not have.
    static func infos(_ tx: borrowing TenantTransaction, _ channels: [UInt64]) throws -> [UInt64: ChannelInfo] {
        let infos = try ChannelInfo.load(tx, channels)
        if let missing = channels.first(where: { infos[$0] == nil }) {
            throw CallFailure.notFound("channel \(missing) does not exist in this tenant")
        }
        return infos
    }

    /// The channels grouped by their site's time zone, in request order within each.
    static func bySite(_ channels: [UInt64], _ infos: [UInt64: ChannelInfo]) -> [(String, [UInt64])] {
        var groups: [(String, [UInt64])] = []
        for channel in channels {
            let zone = infos[channel]!.timeZone
            if let index = groups.firstIndex(where: { $0.0 == zone }) { groups[index].1.append(channel) } else { groups.append((zone, [channel])) }
        }
        return groups
    }
}
