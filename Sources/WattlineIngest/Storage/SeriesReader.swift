import WattlineProtos
import WattlineStore
import WattlineTelemetry

/// Reads one channel's samples over a time range from both forms they are stored in: the
/// compacted blocks (only that channel's, only the days the range touches) and the batches not
/// yet compacted. Samples of equal time resolve as the compactor would: blocks by day and
/// sequence, then the batches in stored order, the later winning.
public struct SeriesReader: Sendable {
    let keyring: TenantKeyring

    public init(keyring: TenantKeyring) {
        self.keyring = keyring
    }

    /// The channel's samples with `fromMs ≤ time ≤ toMs`, in time order, cut into series of at
    /// most `ChannelSeries.maxSampleCount` (none when there are no samples). `compactedOnly`
    /// leaves out the batches (what rollups summarise).
    public func samples(
        _ tx: borrowing TenantTransaction, channel: UInt64, fromMs: Int64, toMs: Int64, compactedOnly: Bool = false
    ) throws -> [ChannelSeries] {
        try samples(tx, channels: [channel], fromMs: fromMs, toMs: toMs, compactedOnly: compactedOnly)[channel] ?? []
    }

    /// `samples(channel:)` for several channels, reading the uncompacted batches once.
    public func samples(
        _ tx: borrowing TenantTransaction, channels: [UInt64], fromMs: Int64, toMs: Int64, compactedOnly: Bool = false
    ) throws -> [UInt64: [ChannelSeries]] {
        guard fromMs <= toMs, !channels.isEmpty else { return [:] }
        var keys = BlockKeys(keyring, tenant: tx.tenant)
        var found: [UInt64: SampleColumns] = [:]
        let blocks = try tx.query(
            """
            SELECT \(StoredBlock.selectList) FROM wattline.telemetry_blocks
            WHERE channel_id = ANY($1::text[]::bigint[]) AND start_ms >= $2 AND start_ms <= $3 AND end_ms >= $4
            ORDER BY channel_id, floor(start_ms / \(ChannelDay.dayMs).0), block_seq, start_ms
            """,
            [.textArray(channels.map { String(Int64(bitPattern: $0)) }), .int64(ChannelDay(channel: 0, timeMs: fromMs).startMs),
             .int64(toMs), .int64(fromMs)])
        for row in blocks.rows {
            let block = try StoredBlock(row: row)
            let series = try block.open(&keys, tx)
            let inRange = series.timesMs.indices.filter { series.timesMs[$0] >= fromMs && series.timesMs[$0] <= toMs }
            guard !inRange.isEmpty else { continue }
            found[block.channel, default: SampleColumns()].append(series, indices: inRange)
        }
        if !compactedOnly {
            let wanted = Set(channels)
            try StoredBatch.forEachUncompacted(tx, keyring: keyring, overlapping: fromMs...toMs) { sample in
                if sample.timeMs >= fromMs, sample.timeMs <= toMs, wanted.contains(sample.channelID) {
                    found[sample.channelID, default: SampleColumns()].append(timeMs: sample.timeMs, value: sample.value, quality: sample.quality)
                }
            }
        }
        return try found.mapValues {
            try ChannelSeries.normalizingIntoBlocks(timesMs: $0.timesMs, values: $0.values, qualities: $0.qualities)
        }
    }
}
