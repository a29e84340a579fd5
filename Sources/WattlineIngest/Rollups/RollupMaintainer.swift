import Foundation
import WattlineStore
import WattlineTelemetry

/// Keeps rollups and latest values current, inside the compaction transaction that moves samples
/// into blocks: rollups summarise the compacted blocks exactly, at every commit.
///
/// A bucket whose new samples all come after its last summarised sample (live data) is extended
/// by merging summaries; any other (a backfill, a corrected reading) is summarised again from the
/// channel-day's blocks. Local days are summed from the quarter hours of the UTC days around them.
struct RollupMaintainer {
    let keyring: TenantKeyring

    /// `fresh`: the new samples of each channel-day, normalised (time order, later stored wins),
    /// already written to blocks in this transaction.
    func update(_ tx: borrowing TenantTransaction, tenant: TenantID, fresh: [ChannelDay: [ChannelSeries]]) throws {
        guard !fresh.isEmpty else { return }
        let channels = Set(fresh.keys.map(\.channel))
        let infos = try ChannelInfo.load(tx, channels)
        var chunks = try loadQuarterAndHourChunks(tx, around: fresh.keys)
        var changed: [ChunkKey: StoredRollup] = [:]
        let reader = SeriesReader(keyring: keyring)
        for (channelDay, series) in fresh {
            var compacted: [ChannelSeries]?  // the channel-day's blocks, read once if needed
            for level in [RollupLevel.quarterHour, .hour] {
                let key = ChunkKey(channel: channelDay.channel, level: level, startMs: channelDay.startMs)
                var chunk = chunks[key] ?? SummaryChunk(startMs: channelDay.startMs)
                for (bucket, samples) in Self.buckets(series, lengthMs: level.fixedMs!) {
                    let existing = chunk.summary(at: bucket)
                    if existing == nil || samples.firstTimeMs > existing!.last.timeMs {
                        guard let added = samples.summary else { continue }
                        chunk.set(bucket, existing.map { $0.followed(by: added) } ?? added)
                    } else {
                        if compacted == nil {
                            compacted = try reader.samples(tx, channel: channelDay.channel, fromMs: channelDay.startMs,
                                                           toMs: channelDay.endMs - 1, compactedOnly: true)
                        }
                        chunk.set(bucket, Self.summary(compacted!, from: bucket, to: bucket + level.fixedMs!))
                    }
                }
                chunks[key] = chunk
                changed[key] = StoredRollup(channel: channelDay.channel, level: level, endMs: channelDay.endMs, chunk: chunk)
            }
        }
        for (channel, days) in Dictionary(grouping: fresh.keys, by: \.channel) {
            guard let zone = infos[channel].flatMap({ LocalCalendar(zone: $0.timeZone) }) else { continue }
            for localDay in Self.localDays(touching: days.map { fresh[$0]! }, calendar: zone) {
                let key = ChunkKey(channel: channel, level: .day, startMs: localDay.lowerBound)
                var builder = SummaryBuilder()
                var utcDay = ChannelDay(channel: channel, timeMs: localDay.lowerBound)
                while utcDay.startMs < localDay.upperBound {
                    let quarters = chunks[ChunkKey(channel: channel, level: .quarterHour, startMs: utcDay.startMs)]
                    for (start, summary) in quarters?.buckets ?? [] where start >= localDay.lowerBound && start < localDay.upperBound {
                        builder.add(summary)
                    }
                    utcDay = ChannelDay(channel: channel, timeMs: utcDay.endMs)
                }
                changed[key] = StoredRollup(
                    channel: channel, level: .day, endMs: localDay.upperBound, timeZone: zone.identifier,
                    chunk: SummaryChunk(startMs: localDay.lowerBound, buckets: builder.summary.map { [(localDay.lowerBound, $0)] } ?? []))
            }
        }
        try write(tx, tenant: tenant, Array(changed.values))
        try updateLatest(tx, tenant: tenant, fresh: fresh)
    }

    struct ChunkKey: Hashable {
        let channel: UInt64
        let level: RollupLevel
        let startMs: Int64
    }

    /// The new samples falling into one bucket.
    struct BucketSamples {
        var firstTimeMs = Int64.max
        var builder = SummaryBuilder()
        var summary: SampleSummary? { builder.summary }
    }

    static func buckets(_ series: [ChannelSeries], lengthMs: Int64) -> [(Int64, BucketSamples)] {
        var result: [(Int64, BucketSamples)] = []
        for block in series {
            for index in 0..<block.count {
                let time = block.timesMs[index]
                let bucket = RollupLevel.floor(time, lengthMs)
                if result.last?.0 != bucket { result.append((bucket, BucketSamples(firstTimeMs: time))) }
                result[result.count - 1].1.builder.add(Reading(timeMs: time, value: block.values[index], quality: block.qualities[index]))
            }
        }
        return result
    }

    static func summary(_ series: [ChannelSeries], from startMs: Int64, to endMs: Int64) -> SampleSummary? {
        var builder = SummaryBuilder()
        for block in series {
            for index in 0..<block.count where block.timesMs[index] >= startMs && block.timesMs[index] < endMs {
                builder.add(Reading(timeMs: block.timesMs[index], value: block.values[index], quality: block.qualities[index]))
            }
        }
        return builder.summary
    }

    /// The local days holding new samples, when they start and end on quarter hours (every
    /// zone's offsets since 1970 are whole quarter hours; a day that is not gets no day rollup,
    /// and queries then read finer levels).
    static func localDays(touching fresh: [[ChannelSeries]], calendar: LocalCalendar) -> [Range<Int64>] {
        var days = Set<Int64>()
        for series in fresh.joined() where series.count > 0 {
            var day = calendar.start(of: .day, containing: series.timesMs[0])
            while day <= series.timesMs[series.count - 1] {
                days.insert(day)
                day = calendar.next(.day, after: day)
            }
        }
        return days.sorted().map { $0..<calendar.next(.day, after: $0) }
            .filter { $0.lowerBound % 900_000 == 0 && $0.upperBound % 900_000 == 0 }
    }

    /// The quarter-hour and hour chunks of the touched UTC days and of the days on either side
    /// (a local day reaches into both).
    private func loadQuarterAndHourChunks(
        _ tx: borrowing TenantTransaction, around days: Dictionary<ChannelDay, [ChannelSeries]>.Keys
    ) throws -> [ChunkKey: SummaryChunk] {
        var wanted = Set<ChannelDay>()
        for day in days {
            for offset in [-1, 0, 1] as [Int64] { wanted.insert(ChannelDay(channel: day.channel, timeMs: day.startMs + offset * ChannelDay.dayMs)) }
        }
        let rows = try tx.query(
            """
            SELECT \(StoredRollup.selectList) FROM wattline.rollups
            WHERE level IN ('15m', '1h') AND (channel_id, chunk_start_ms) IN (SELECT * FROM unnest($1::text[]::bigint[], $2::text[]::bigint[]))
            """,
            [.textArray(wanted.map { String(Int64(bitPattern: $0.channel)) }), .textArray(wanted.map { String($0.startMs) })])
        var chunks: [ChunkKey: SummaryChunk] = [:]
        for rollup in try StoredRollup.read(rows.rows, keyring: keyring, tx) {
            chunks[ChunkKey(channel: rollup.channel, level: rollup.level, startMs: rollup.chunk.startMs)] = rollup.chunk
        }
        return chunks
    }

    /// Replaces the rows of `rollups` (an empty chunk only deletes).
    private func write(_ tx: borrowing TenantTransaction, tenant: TenantID, _ rollups: [StoredRollup]) throws {
        guard !rollups.isEmpty else { return }
        try tx.query(
            """
            DELETE FROM wattline.rollups WHERE (channel_id, level, chunk_start_ms) IN
                (SELECT * FROM unnest($1::text[]::bigint[], $2::text[], $3::text[]::bigint[]))
            """,
            [.textArray(rollups.map { String(Int64(bitPattern: $0.channel)) }), .textArray(rollups.map(\.level.rawValue)),
             .textArray(rollups.map { String($0.chunk.startMs) })])
        let kept = rollups.filter { !$0.chunk.buckets.isEmpty }
        let sealed = try kept.map { try $0.seal(keyring, tx) }
        try tx.copyIn("wattline.rollups", columns: StoredRollup.columns) { writer in
            for (rollup, payload) in zip(kept, sealed) { try rollup.write(&writer, tenant: tenant, sealed: payload) }
        }
    }

    /// Each channel's newest new sample replaces its latest value when it is not older.
    private func updateLatest(_ tx: borrowing TenantTransaction, tenant: TenantID, fresh: [ChannelDay: [ChannelSeries]]) throws {
        var newest: [UInt64: LatestSample] = [:]
        for (channelDay, series) in fresh {
            guard let block = series.last, block.count > 0 else { continue }
            let index = block.count - 1
            let sample = LatestSample(
                channel: channelDay.channel, reading: Reading(timeMs: block.timesMs[index], value: block.values[index], quality: block.qualities[index]))
            if (newest[channelDay.channel]?.reading.timeMs ?? Int64.min) < sample.reading.timeMs { newest[channelDay.channel] = sample }
        }
        let samples = Array(newest.values)
        let sealed = try samples.map { try $0.seal(keyring, tx) }
        try tx.query(
            """
            INSERT INTO wattline.channel_latest (tenant_id, channel_id, time_ms, payload)
            SELECT $1, v.channel_id, v.time_ms, decode(v.payload, 'base64')
            FROM unnest($2::text[]::bigint[], $3::text[]::bigint[], $4::text[]) AS v(channel_id, time_ms, payload)
            ON CONFLICT (tenant_id, channel_id) DO UPDATE SET time_ms = excluded.time_ms, payload = excluded.payload
            WHERE wattline.channel_latest.time_ms <= excluded.time_ms
            """,
            [.uuid(tenant.uuid), .textArray(samples.map { String(Int64(bitPattern: $0.channel)) }),
             .textArray(samples.map { String($0.reading.timeMs) }), .textArray(sealed.map { Data($0).base64EncodedString() })])
    }
}
