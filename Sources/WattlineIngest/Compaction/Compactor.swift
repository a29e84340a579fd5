import Foundation
import WattlineProtos
import WattlineStore
import WattlineTelemetry

/// What compaction did.
public struct CompactionReport: Sendable, Equatable {
    public var batches = 0
    public var samples = 0
    public var blocksWritten = 0
    /// Older blocks merged into the blocks written (and deleted).
    public var blocksMerged = 0

    public init(batches: Int = 0, samples: Int = 0, blocksWritten: Int = 0, blocksMerged: Int = 0) {
        (self.batches, self.samples, self.blocksWritten, self.blocksMerged) = (batches, samples, blocksWritten, blocksMerged)
    }

    static func + (a: CompactionReport, b: CompactionReport) -> CompactionReport {
        var sum = a
        sum.batches += b.batches
        sum.samples += b.samples
        sum.blocksWritten += b.blocksWritten
        sum.blocksMerged += b.blocksMerged
        return sum
    }
}

/// Moves stored batches (`ingest_batches.payload`, ≈ 12 bytes a sample) into per-channel,
/// per-UTC-day blocks (`telemetry_blocks`, ≈ 1.4 bytes a sample, docs/telemetry.md), and keeps
/// the rollups and latest values of the blocks current in the same transaction (`RollupMaintainer`).
///
/// One transaction per tenant and up to `batchesPerTransaction` batches: it takes the oldest
/// batches, sets their payload to NULL (the row stays: it is the exactly-once record), and writes
/// and merges blocks, so a crash anywhere leaves either the batches or the blocks, never neither
/// nor both. An advisory lock per tenant lets one server node at a time compact a tenant; a
/// payload that does not open (a destroyed key, tampering) stops that tenant's compaction with an
/// error and loses nothing.
public final class Compactor: Sendable {
    let store: Store
    let keyring: TenantKeyring
    public let policy: CompactionPolicy

    public init(store: Store, keyring: TenantKeyring, policy: CompactionPolicy = CompactionPolicy()) {
        self.store = store
        self.keyring = keyring
        self.policy = policy
    }

    /// Compacts every tenant's batches at least `minimumAge` old (nil: the policy's); `now` (ms,
    /// nil: the clock) decides which days are closed. A tenant whose transaction fails is told to
    /// `failed` and left for the next call; the others carry on.
    @discardableResult
    public func compactAll(
        minimumAge: Duration? = nil, now: Int64? = nil, failed: (TenantID, Error) -> Void = { _, _ in }
    ) async throws -> CompactionReport {
        // Rounds of one transaction per tenant (listed afresh each round), so a tenant with a
        // large backlog holds up neither the others nor one that just became active.
        var total = CompactionReport()
        var busy = true
        while busy {
            busy = false
            let tenants = try await store.lookup(.allTenants) { tx in
                try tx.query("SELECT tenant_id FROM wattline.tenants").rows.map { TenantID(try $0.uuid(0)) }
            }
            let roundNow = now ?? IngestService.nowMs()
            for tenant in tenants {
                let report: CompactionReport
                let started = ContinuousClock.now
                do {
                    report = try await compact(tenant, minimumAge: minimumAge ?? policy.minimumAge, now: roundNow)
                } catch {
                    failed(tenant, error)
                    continue
                }
                total = total + report
                busy = busy || report.batches >= policy.batchesPerTransaction
                if report.batches > 0, policy.busyShare < 1 {
                    try await Task.sleep(for: (ContinuousClock.now - started) * ((1 - policy.busyShare) / policy.busyShare))
                }
            }
        }
        return total
    }

    /// One transaction's worth of `tenant`'s oldest batches.
    func compact(_ tenant: TenantID, minimumAge: Duration, now: Int64) async throws -> CompactionReport {
        let (keyring, policy) = (keyring, policy)
        return try await store.transaction(tenant: tenant) { tx in
            guard try tx.query(
                "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", [.text("wattline.compact:\(tenant)")])[0].bool(0)
            else { return CompactionReport() }  // another node is at it
            var keys = BlockKeys(keyring, tenant: tenant)
            var report = CompactionReport()
            let days = try Self.takeBatches(tx, keyring: keyring, minimumAge: minimumAge, limit: policy.batchesPerTransaction, report: &report)
            guard !days.isEmpty else { return report }
            var existing = try Self.blockCounts(tx, covering: days.keys)
            var written: [StoredBlock] = []
            var freshByDay: [ChannelDay: [ChannelSeries]] = [:]
            for (channelDay, samples) in days.sorted(by: { $0.key < $1.key }) {
                let blocks = existing.removeValue(forKey: channelDay) ?? []
                let fresh = try ChannelSeries.normalizingIntoBlocks(timesMs: samples.timesMs, values: samples.values, qualities: samples.qualities)
                freshByDay[channelDay] = fresh
                let counts = blocks.map(\.count) + [fresh.reduce(0) { $0 + $1.count }]
                let dayClosed = channelDay.endMs + policy.dayGraceMs <= now
                let sequence = (blocks.last?.sequence ?? 0) + 1
                var series = fresh
                if let start = policy.mergeStart(counts, dayClosed: dayClosed), start < blocks.count {
                    // The newest blocks from `start` on, then the new samples: later wins on equal times.
                    // One statement takes them out and returns them, sorted here (DELETE has no ORDER BY).
                    let old = try tx.query(
                        """
                        DELETE FROM wattline.telemetry_blocks WHERE channel_id = $1 AND start_ms >= $2 AND start_ms < $3 AND block_seq >= $4
                        RETURNING \(StoredBlock.selectList)
                        """,
                        [.int64(Int64(bitPattern: channelDay.channel)), .int64(channelDay.startMs), .int64(channelDay.endMs), .int64(blocks[start].sequence)])
                    var merged = SampleColumns()
                    for block in try old.rows.map(StoredBlock.init(row:)).sorted(by: { ($0.sequence, $0.summary.firstMs) < ($1.sequence, $1.summary.firstMs) }) {
                        merged.append(try block.open(&keys, tx))
                    }
                    merged.append(contentsOf: samples)
                    report.blocksMerged += old.rows.count
                    series = try ChannelSeries.normalizingIntoBlocks(timesMs: merged.timesMs, values: merged.values, qualities: merged.qualities)
                }
                for block in series {
                    written.append(try StoredBlock(sealing: block, channel: channelDay.channel, sequence: sequence, keys: &keys, tx))
                }
            }
            try tx.copyIn("wattline.telemetry_blocks", columns: StoredBlock.columns) { writer in
                for block in written { try block.write(&writer, tenant: tenant) }
            }
            report.blocksWritten = written.count
            try RollupMaintainer(keyring: keyring).update(tx, tenant: tenant, fresh: freshByDay)
            return report
        }
    }

    /// Takes the oldest batches (their payload set to NULL in the same statement) and returns
    /// their samples by channel-day, in stored order.
    private static func takeBatches(
        _ tx: borrowing TenantTransaction, keyring: TenantKeyring, minimumAge: Duration, limit: Int, report: inout CompactionReport
    ) throws -> [ChannelDay: SampleColumns] {
        // Two plain statements rather than one UPDATE … FROM: a join between the picked rows and
        // the table was planned on a freshly grown tenant's stale statistics as a scan of the whole
        // tenant per picked row (minutes at 200,000 batches).
        let taken = try tx.query(
            """
            SELECT \(StoredBatch.selectList) FROM wattline.ingest_batches
            WHERE payload IS NOT NULL AND stored_at <= now() - make_interval(secs => $1)
            ORDER BY stored_at, logger_id, sequence LIMIT $2 FOR UPDATE
            """,
            [.float64(Double(minimumAge.wholeMilliseconds) / 1_000), .int64(Int64(limit))])
        let batches = try taken.rows.map(StoredBatch.init(row:))
        try tx.query(
            """
            UPDATE wattline.ingest_batches SET payload = NULL
            WHERE (logger_id, sequence) IN (SELECT * FROM unnest($1::text[]::uuid[], $2::text[]::bigint[]))
            """,
            [.textArray(batches.map { $0.logger.lowercased }), .textArray(batches.map { String($0.sequence) })])
        var days: [ChannelDay: SampleColumns] = [:]
        for batch in batches.sorted(by: StoredBatch.inStoredOrder) {
            let view = try batch.open(tx, keyring: keyring)
            view.forEachSample { sample in
                days[ChannelDay(channel: sample.channelID, timeMs: sample.timeMs), default: SampleColumns()]
                    .append(timeMs: sample.timeMs, value: sample.value, quality: sample.quality)
            }
            report.batches += 1
            report.samples += view.sampleCount
        }
        return days
    }

    /// The blocks already stored for the channel-days, oldest first: their sequence and size.
    private static func blockCounts(
        _ tx: borrowing TenantTransaction, covering days: Dictionary<ChannelDay, SampleColumns>.Keys
    ) throws -> [ChannelDay: [(sequence: Int64, count: Int)]] {
        let channels = Set(days.map(\.channel)).map { String(Int64(bitPattern: $0)) }
        let from = days.map(\.startMs).min()!, to = days.map(\.endMs).max()!
        let rows = try tx.query(
            """
            SELECT channel_id, start_ms, block_seq, sample_count FROM wattline.telemetry_blocks
            WHERE channel_id = ANY($1::bigint[]) AND start_ms >= $2 AND start_ms < $3 ORDER BY block_seq
            """,
            [.textArray(channels), .int64(from), .int64(to)])
        var counts: [ChannelDay: [(sequence: Int64, count: Int)]] = [:]
        for row in rows.rows {
            let key = ChannelDay(channel: UInt64(bitPattern: try row.int64(0)), timeMs: try row.int64(1))
            guard days.contains(key) else { continue }
            counts[key, default: []].append((try row.int64(2), Int(try row.int64(3))))
        }
        return counts
    }
}
