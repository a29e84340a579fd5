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
    /// most `ChannelSeries.maxSampleCount` (none when there are no samples).
    public func samples(_ tx: borrowing TenantTransaction, channel: UInt64, fromMs: Int64, toMs: Int64) throws -> [ChannelSeries] {
        guard fromMs <= toMs else { return [] }
        var keys = BlockKeys(keyring, tenant: tx.tenant)
        var found = SampleColumns()
        let blocks = try tx.query(
            """
            SELECT \(StoredBlock.selectList) FROM wattline.telemetry_blocks
            WHERE channel_id = $1 AND start_ms >= $2 AND start_ms <= $3 AND end_ms >= $4
            ORDER BY floor(start_ms / \(ChannelDay.dayMs).0), block_seq, start_ms
            """,
            [.int64(Int64(bitPattern: channel)), .int64(ChannelDay(channel: channel, timeMs: fromMs).startMs), .int64(toMs), .int64(fromMs)])
        for row in blocks.rows {
            let series = try StoredBlock(row: row).open(&keys, tx)
            for index in 0..<series.count where series.timesMs[index] >= fromMs && series.timesMs[index] <= toMs {
                found.append(timeMs: series.timesMs[index], value: series.values[index], quality: series.qualities[index])
            }
        }
        try StoredBatch.forEachUncompacted(tx, keyring: keyring, overlapping: fromMs...toMs) { sample in
            if sample.channelID == channel, sample.timeMs >= fromMs, sample.timeMs <= toMs {
                found.append(timeMs: sample.timeMs, value: sample.value, quality: sample.quality)
            }
        }
        return try ChannelSeries.normalizingIntoBlocks(timesMs: found.timesMs, values: found.values, qualities: found.qualities)
    }
}
