import WattlineStore
import WattlineTelemetry

/// Reads what queries build on besides raw samples: rollup buckets, and where batches not yet
/// compacted lie (rollups do not cover them yet).
public struct RollupReader: Sendable {
    let keyring: TenantKeyring

    public init(keyring: TenantKeyring) {
        self.keyring = keyring
    }

    /// The `level` buckets of `channels` starting in [fromMs, toMs), by channel, in time order;
    /// nil when a local-day bucket there was made in another zone than `timeZone` (the site's
    /// zone changed since): the caller then reads a finer level.
    public func buckets(
        _ tx: borrowing TenantTransaction, channels: [UInt64], level: RollupLevel, fromMs: Int64, toMs: Int64, timeZone: String
    ) throws -> [UInt64: [(startMs: Int64, summary: SampleSummary)]]? {
        let rows = try tx.query(
            """
            SELECT \(StoredRollup.selectList) FROM wattline.rollups
            WHERE channel_id = ANY($1::text[]::bigint[]) AND level = $2 AND chunk_start_ms < $3 AND chunk_end_ms > $4
            ORDER BY channel_id, chunk_start_ms
            """,
            [.textArray(channels.map { String(Int64(bitPattern: $0)) }), .text(level.rawValue), .int64(toMs), .int64(fromMs)])
        var buckets: [UInt64: [(startMs: Int64, summary: SampleSummary)]] = [:]
        for rollup in try StoredRollup.read(rows.rows, keyring: keyring, tx) {
            guard level != .day || rollup.timeZone == timeZone else { return nil }
            for bucket in rollup.chunk.buckets where bucket.startMs >= fromMs && bucket.startMs < toMs {
                buckets[rollup.channel, default: []].append(bucket)
            }
        }
        return buckets
    }

    /// The time spans [first, last] of the batches not yet compacted that overlap [fromMs, toMs].
    public func uncompactedSpans(_ tx: borrowing TenantTransaction, fromMs: Int64, toMs: Int64) throws -> [ClosedRange<Int64>] {
        try tx.query(
            "SELECT start_ms, end_ms FROM wattline.ingest_batches WHERE payload IS NOT NULL AND start_ms <= $1 AND end_ms >= $2",
            [.int64(toMs), .int64(fromMs)]
        ).rows.map { try $0.int64(0)...$0.int64(1) }
    }

    /// Each channel's latest sample: the compacted one, unless a batch not compacted yet holds a
    /// later (or equally timed, stored later) one.
    public func latest(_ tx: borrowing TenantTransaction, channels: [UInt64]) throws -> [UInt64: Reading] {
        var latest = try LatestSample.load(tx, keyring: keyring, channels: channels).mapValues(\.reading)
        let wanted = Set(channels)
        // Only batches reaching past the oldest latest value can change anything.
        let floor = wanted.allSatisfy { latest[$0] != nil } ? wanted.map { latest[$0]!.timeMs }.min()! : Int64.min
        try StoredBatch.forEachUncompacted(tx, keyring: keyring, overlapping: floor...Int64.max) { sample in
            guard wanted.contains(sample.channelID), sample.timeMs >= latest[sample.channelID]?.timeMs ?? Int64.min else { return }
            latest[sample.channelID] = Reading(timeMs: sample.timeMs, value: sample.value, quality: sample.quality)
        }
        return latest
    }
}
