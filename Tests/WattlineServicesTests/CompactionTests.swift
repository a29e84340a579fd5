import Foundation
import Testing
import WattlineClient
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTelemetry
import WattlineTestSupport
@testable import WattlineIngest

/// The compactor moves stored batches into per-channel, per-day sealed blocks: every sample
/// survives with the value stored last, and a reader sees the same series before and after.
@Suite("Compaction: batches into per-channel day blocks", .serialized)
struct CompactionTests {
    typealias Batch = TelemetryV1.TelemetryBatch

    /// One batch of series (channel, first time, values a minute apart).
    static func batch(_ sequence: UInt64, _ series: [(UInt64, Int64, [Double])]) -> Batch {
        .with {
            $0.sequence = sequence
            $0.channelIDs = series.map(\.0)
            $0.seriesStartMs = series.map(\.1)
            $0.sampleCounts = series.map { UInt32($0.2.count) }
            $0.timeDeltasMs = series.flatMap { $0.2.indices.map { $0 == 0 ? Int32(0) : Int32(60_000) } }
            $0.values = series.flatMap(\.2)
        }
    }

    static func read(_ fixture: ServicesFixture, _ channel: UInt64) async throws -> [String] {
        let reader = SeriesReader(keyring: TenantKeyring(master: fixture.master))
        let series = try await fixture.services.store.transaction(tenant: TenantID(fixture.ownTenant)) { tx in
            try reader.samples(tx, channel: channel, fromMs: 0, toMs: Int64.max / 2)
        }
        return series.flatMap { block in
            (0..<block.count).map { "\(block.timesMs[$0]) \(block.values[$0].bitPattern) \(block.qualities[$0])" }
        }
    }

    @Test("samples survive compaction bit for bit, later batches win, merges follow the tiers, blocks are sealed and bound")
    func compaction() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let secret = try #require(fixture.authorization[.logger])
            let (energy, power) = (fixture.siteChannels[0], fixture.siteChannels[1])
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let closedDay = (now / ChannelDay.dayMs - 3) * ChannelDay.dayMs + 3_600_000  // three days ago: closed
            let recent = now - 600_000  // an open day
            var policy = CompactionPolicy()
            (policy.fanIn, policy.tierBase) = (2, 2)
            let compactor = Compactor(store: fixture.services.store, keyring: TenantKeyring(master: fixture.master), policy: policy)
            var expected = SampleModel()

            // 1: energy in the closed day, power in the open one.
            let first = Self.batch(1, [(energy, closedDay, [100.25, 100.5, 100.75]), (power, recent, [12.5, 12.75])])
            expected.add(first)
            _ = try await IngestTests.stream(client, secret: secret, [first])
            let round1 = try await compactor.compactAll(minimumAge: .zero, now: now)
            #expect(round1 == CompactionReport(batches: 1, samples: 5, blocksWritten: 2, blocksMerged: 0))

            // 2: a correction of energy's third reading and a new one; power later, one NaN.
            let second = Self.batch(2, [(energy, closedDay + 120_000, [999.0, 101.0]), (power, recent + 120_000, [13.0, .nan])])
            expected.add(second)
            _ = try await IngestTests.stream(client, secret: secret, [second])
            // Before compaction the reader merges the blocks with the stored batch.
            #expect(try await Self.read(fixture, energy) == expected.series(energy))
            #expect(try await Self.read(fixture, power) == expected.series(power))
            let round2 = try await compactor.compactAll(minimumAge: .zero, now: now)
            // energy and power: two blocks of the same tier (1) merge, one block each.
            #expect(round2 == CompactionReport(batches: 1, samples: 4, blocksWritten: 2, blocksMerged: 2))
            #expect(try await Self.read(fixture, energy) == expected.series(energy))
            #expect(try await Self.read(fixture, power) == expected.series(power))
            #expect(expected.series(energy).count == 4 && expected.series(power).count == 4)

            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            #expect(try admin.query("SELECT count(*) FROM wattline.ingest_batches WHERE payload IS NOT NULL")[0].int64(0) == 0)
            #expect(try admin.query("SELECT count(*) FROM wattline.ingest_batches")[0].int64(0) == 2)  // the exactly-once record stays
            let blocks = try admin.query("SELECT channel_id, sample_count, payload FROM wattline.telemetry_blocks ORDER BY channel_id")
            #expect(try blocks.rows.map { "\(try $0.int64(0)) \(try $0.int64(1))" } == ["\(energy) 4", "\(power) 4"])
            for row in blocks.rows {  // no plaintext value in a sealed block
                let payload = try row.bytes(2)
                for value in [100.25, 999.0, 13.0] {
                    let needle = withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) }
                    #expect(!payload.indices.dropLast(7).contains { Array(payload[$0..<($0 + 8)]) == needle })
                }
            }

            // A block whose clear summary was edited (or moved to another channel) no longer opens.
            try admin.query("UPDATE wattline.telemetry_blocks SET end_ms = end_ms + 1 WHERE channel_id = $1", [.int64(Int64(energy))])
            await #expect(throws: TelemetryBlockError.self) { try await Self.read(fixture, energy) }
        }
    }

    @Test("merge plan: runs of equal tier merge upwards, a closed day with too many blocks becomes one, nothing else moves")
    func mergePlan() {
        var policy = CompactionPolicy()
        (policy.fanIn, policy.tierBase) = (4, 64)
        #expect(policy.mergeStart([10], dayClosed: false) == nil)
        #expect(policy.mergeStart([10, 10, 10], dayClosed: false) == nil)
        #expect(policy.mergeStart([10, 10, 10, 10], dayClosed: false) == 0)
        #expect(policy.mergeStart([5_000, 10, 10, 10, 10], dayClosed: false) == 1)
        // Four tier-0 runs became one of tier 1 beside three tier-1 blocks: merge again.
        #expect(policy.mergeStart([100, 100, 100, 20, 20, 20, 30], dayClosed: false) == 0)
        #expect(policy.mergeStart([100, 20, 20, 20, 30], dayClosed: false) == 1)
        // A closed day: one block once it has more than `closedDayBlocks`, not at every pass.
        #expect(policy.mergeStart([5_000, 100, 5], dayClosed: true) == nil)
        #expect(policy.mergeStart([5_000, 100, 20, 5, 5], dayClosed: true) == 0)
        #expect(policy.mergeStart([5_000, 100, 20, 5, 5], dayClosed: false) == nil)
        #expect(policy.mergeStart([ChannelSeries.maxSampleCount, 100, 20, 5, 5], dayClosed: true) == nil)
    }
}
