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
    ///
    /// The batches are visited newest end first, and the visit stops at the first batch ending
    /// before every asked channel's best so far: with a backlog of a logger's batches, only its
    /// newest are opened. (A channel with no sample at all keeps the visit going to the end.)
    public func latest(_ tx: borrowing TenantTransaction, channels: [UInt64]) throws -> [UInt64: Reading] {
        // With each best reading, where it was stored: compacted ones before every batch, batches
        // in stored order (transaction time, then logger and sequence, as `StoredBatch.inStoredOrder`).
        typealias Stored = (us: Int64, logger: String, sequence: Int64)
        var latest = try LatestSample.load(tx, keyring: keyring, channels: channels)
            .mapValues { (reading: $0.reading, stored: Stored(Int64.min, "", 0)) }
        let wanted = Set(channels)
        func floor() -> Int64 { wanted.allSatisfy { latest[$0] != nil } ? wanted.map { latest[$0]!.reading.timeMs }.min()! : Int64.min }
        let rows = try tx.query(
            "SELECT \(StoredBatch.selectList), end_ms FROM wattline.ingest_batches WHERE payload IS NOT NULL AND end_ms >= $1 ORDER BY end_ms DESC",
            [.int64(floor())]).rows
        for row in rows {
            guard try row.int64(4) >= floor() else { break }
            let batch = try StoredBatch(row: row)
            let stored = Stored(batch.storedUs, batch.logger.uuidString, batch.sequence)
            try batch.open(tx, keyring: keyring).forEachSample { sample in
                guard wanted.contains(sample.channelID) else { return }
                // Later in time wins; at equal times the later stored.
                if let best = latest[sample.channelID],
                   (sample.timeMs, stored.us, stored.logger, stored.sequence) < (best.reading.timeMs, best.stored.us, best.stored.logger, best.stored.sequence) {
                    return
                }
                latest[sample.channelID] = (Reading(timeMs: sample.timeMs, value: sample.value, quality: sample.quality), stored)
            }
        }
        return latest.mapValues(\.reading)
    }
}
