import Foundation
import Testing
import WattlineClient
import WattlineProtos
import WattlineStore
import WattlineTelemetry
import WattlineTestSupport
import WattlineWire
@testable import WattlineIngest
@testable import WattlineQuery

/// Every query answer equals the brute-force computation over the raw samples the test sent:
/// aggregates and energy over random ranges, in fixed and calendar buckets of three time zones
/// across their daylight-saving changes, with counter resets, corrections, a backfill, and batches
/// not compacted yet beside rollups.
@Suite("Queries: raw, aggregates, energy and latest against brute force", .serialized)
struct QueryTests {
    typealias Batch = TelemetryV1.TelemetryBatch

    /// 2026-10-22 to 2026-11-03 UTC: Europe ends summer time on Oct 25, the US on Nov 1.
    static let dataStart: Int64 = 1_792_627_200_000
    static let dataEnd: Int64 = 1_793_664_000_000

    @Test("aggregates, energy, raw and latest equal brute force over rollups, blocks and uncompacted batches")
    func bruteForce() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let logger = try #require(fixture.authorization[.logger])
            let viewer = CallOptions(timeout: .seconds(60), authorization: try #require(fixture.authorization[.viewer]))
            let (energy, power) = (fixture.siteChannels[0], fixture.siteChannels[1])
            let compactor = Compactor(store: fixture.services.store, keyring: TenantKeyring(master: fixture.master))
            var random = SplitMix64(seed: 20261129)
            var model = SampleModel()

            // Phase 1: twelve days of both channels, compacted into blocks and rollups.
            var batches = Self.generate(energy: energy, power: power, from: Self.dataStart, to: Self.dataEnd, &random)
            // Phase 2: corrections of stored readings, a backfill between them, compacted too.
            var corrections: [(UInt64, Int64, Double)] = []
            for _ in 0..<40 {
                let (channel, times) = random.next() % 2 == 0 ? (energy, Self.times(batches, energy)) : (power, Self.times(batches, power))
                let time = times[Int(random.next() % UInt64(times.count))]
                corrections.append((channel, time, channel == power ? Double(random.next() % 5_000) / 10 : 0))
            }
            for (index, batch) in batches.enumerated() {
                var numbered = batch
                numbered.sequence = UInt64(index + 1)
                batches[index] = numbered
            }
            let sent1 = try await IngestTests.stream(client, secret: logger, batches)
            #expect(sent1.acks.allSatisfy { $0.outcome == .stored })
            batches.forEach { model.add($0) }
            try await compactor.compactAll(minimumAge: .zero) { Issue.record("compaction failed: \($1)") }

            var next = UInt64(batches.count + 1)
            var later: [Batch] = []
            // Corrected power readings; an energy correction repeats the stored value plus 0.5.
            for (channel, time, value) in corrections {
                let corrected = channel == energy ? (model.samples[energy]![time]!.value + 0.5) : value
                later.append(Self.batch(next, [(channel, time, [(corrected, 0)])]))
                next += 1
            }
            // A backfill a few seconds after stored readings (between them) on Oct 25.
            let backfillStart = Self.dataStart + 3 * 86_400_000 + 5_000
            later.append(Self.batch(next, [(power, backfillStart, (0..<20).map { (Double($0) * 3.5, 0) })], deltaMs: 61_000))
            next += 1
            let sent2 = try await IngestTests.stream(client, secret: logger, later)
            #expect(sent2.acks.allSatisfy { $0.outcome == .stored })
            later.forEach { model.add($0) }
            try await compactor.compactAll(minimumAge: .zero) { Issue.record("compaction failed: \($1)") }

            // Phase 3: the last day again, partly new readings, left uncompacted.
            let tail = Self.generate(energy: energy, power: power, from: Self.dataEnd - 86_400_000 + 17_000, to: Self.dataEnd, &random,
                                     energyBase: model.samples[energy]!.max { $0.key < $1.key }!.value.value + 100)
            let tailNumbered = tail.enumerated().map { index, batch in
                var numbered = batch
                numbered.sequence = next + UInt64(index)
                return numbered
            }
            let sent3 = try await IngestTests.stream(client, secret: logger, tailNumbered)
            #expect(sent3.acks.allSatisfy { $0.outcome == .stored })
            tailNumbered.forEach { model.add($0) }

            let tenant = bytes(fixture.ownTenant)
            let queries = TelemetryV1.QueryService.Client(client)

            // Raw: bit for bit.
            for channel in [energy, power] {
                let chunks = try await queries.readRaw(.with {
                    $0.tenantID = tenant
                    $0.channelIDs = [channel]
                    $0.range = .with { $0.startMs = Self.dataStart - 1; $0.endMs = Self.dataEnd + 1 }
                }, options: viewer) { responses in
                    var all: [TelemetryV1.SeriesChunk] = []
                    for try await response in responses { all.append(response.chunk ?? .init()) }
                    return all
                }
                #expect(Self.flatten(chunks) == model.series(channel))
            }

            // Latest: the uncompacted tail's last readings.
            let latest = try await queries.readLatest(.with { $0.tenantID = tenant; $0.channelIDs = [power, energy] }, options: viewer)
            #expect(latest.channelIDs == [power, energy])
            #expect(latest.timesMs == [power, energy].map { model.samples[$0]!.keys.max()! })
            #expect(latest.values.map(\.bitPattern) == [power, energy].map { model.samples[$0]![model.samples[$0]!.keys.max()!]!.value.bitPattern })

            // Ranges: the whole data aligned to Zurich midnights, and random ones.
            var ranges: [(Int64, Int64)] = [(1_792_620_000_000, 1_793_660_400_000)]
            for _ in 0..<5 {
                let a = Self.dataStart - 3_600_000 + Int64(random.next() % UInt64(Self.dataEnd - Self.dataStart + 7_200_000))
                let b = Self.dataStart - 3_600_000 + Int64(random.next() % UInt64(Self.dataEnd - Self.dataStart + 7_200_000))
                if a != b { ranges.append((min(a, b), max(a, b))) }
            }
            let bucketings: [TelemetryV1.Bucketing] = [
                .with { $0.kind = .intervalMs(900_000) }, .with { $0.kind = .intervalMs(3_600_000) },
                .with { $0.kind = .intervalMs(86_400_000) }, .with { $0.kind = .intervalMs(420_000) },
                .with { $0.kind = .calendar(.hour) }, .with { $0.kind = .calendar(.day) },
                .with { $0.kind = .calendar(.week) }, .with { $0.kind = .calendar(.month) },
                .with { $0.kind = .calendar(.day); $0.timeZone = "America/New_York" },
                .with { $0.kind = .calendar(.hour); $0.timeZone = "Asia/Kolkata" },
                .with { $0.kind = .calendar(.day); $0.timeZone = "Asia/Kolkata" },
            ]
            for (from, to) in ranges {
                for bucketing in bucketings {
                    let brute = try BruteForce(bucketing: bucketing, siteZone: "Europe/Zurich", from: from, to: to)
                    let answers = try await queries.readAggregates(.with {
                        $0.tenantID = tenant
                        $0.channelIDs = [energy, power]
                        $0.range = .with { $0.startMs = from; $0.endMs = to }
                        $0.bucketing = bucketing
                    }, options: viewer) { responses in
                        var all: [TelemetryV1.ReadAggregatesResponse] = []
                        for try await response in responses { all.append(response) }
                        return all
                    }
                    for channel in [energy, power] {
                        let expected = brute.aggregates(model.finite(channel))
                        let got = answers.filter { $0.channelID == channel }
                        let starts = got.flatMap(\.bucketStartMs)
                        #expect(starts == expected.map(\.start), "\(bucketing) \(from)..<\(to) channel \(channel)")
                        guard starts == expected.map(\.start) else { continue }
                        let counts = got.flatMap(\.counts), mins = got.flatMap(\.mins), maxs = got.flatMap(\.maxs)
                        let sums = got.flatMap(\.sums), firsts = got.flatMap(\.firsts), lasts = got.flatMap(\.lasts)
                        let avgs = got.flatMap(\.avgs)
                        for (index, bucket) in expected.enumerated() {
                            #expect(counts[index] == bucket.count && mins[index] == bucket.min && maxs[index] == bucket.max)
                            #expect(firsts[index] == bucket.first && lasts[index] == bucket.last)
                            #expect(Self.close(sums[index], bucket.sum) && Self.close(avgs[index], bucket.sum / Double(bucket.count)))
                        }
                    }
                    let energyAnswer = try await queries.readEnergy(.with {
                        $0.tenantID = tenant
                        $0.channelIDs = [energy]
                        $0.range = .with { $0.startMs = from; $0.endMs = to }
                        $0.bucketing = bucketing
                    }, options: viewer)
                    let series = try #require(energyAnswer.series.first)
                    let expected = brute.energy(model.finite(energy), rollover: 0)
                    #expect(series.bucketStartMs == brute.starts, "\(bucketing) \(from)..<\(to)")
                    #expect(series.resets == expected.map(\.resets), "\(bucketing) \(from)..<\(to)")
                    #expect(zip(series.consumption, expected).allSatisfy { Self.close($0, $1.consumption) }, "\(bucketing) \(from)..<\(to)")
                }
            }

            // A rollover value set later applies to the stored rollups (decreases become wraps).
            let owner = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.owner]))
            _ = try await TenancyV1.MeterService.Client(client).updateChannel(.with {
                $0.tenantID = tenant
                $0.channelID = energy
                $0.rolloverValueUpdate = .rolloverValue(1_000_000)
            }, options: owner)
            let (from, to) = ranges[0]
            let brute = try BruteForce(bucketing: .with { $0.kind = .calendar(.day) }, siteZone: "Europe/Zurich", from: from, to: to)
            let wrapped = try await queries.readEnergy(.with {
                $0.tenantID = tenant
                $0.channelIDs = [energy]
                $0.range = .with { $0.startMs = from; $0.endMs = to }
                $0.bucketing = .with { $0.kind = .calendar(.day) }
            }, options: viewer)
            let expected = brute.energy(model.finite(energy), rollover: 1_000_000)
            #expect(zip(wrapped.series[0].consumption, expected).allSatisfy { Self.close($0, $1.consumption) })
            #expect(expected.contains { $0.consumption > 500_000 })  // an unflagged drop wrapped

            // Once compacted, a daily query in the site's zone reads one day rollup per day.
            try await compactor.compactAll(minimumAge: .zero) { Issue.record("compaction failed: \($1)") }
            let pieces = SummaryPieces(rollups: RollupReader(keyring: TenantKeyring(master: fixture.master)), series: SeriesReader(keyring: TenantKeyring(master: fixture.master)))
            let grid = try BucketGrid(range: .with { $0.startMs = from; $0.endMs = to }, bucketing: .with { $0.kind = .calendar(.day) }, siteZone: "Europe/Zurich")
            #expect(grid.levels(siteZone: "Europe/Zurich") == [.day, .hour, .quarterHour])
            let found = try await fixture.services.store.transaction(tenant: TenantID(fixture.ownTenant)) { tx in
                try pieces.pieces(tx, channels: [power], fromMs: from, toMs: to, throughEnd: false, levels: grid.levels(siteZone: "Europe/Zurich"),
                                  site: LocalCalendar(zone: "Europe/Zurich"))
            }
            #expect(found[power]?.count == 12)
            #expect(Folds.aggregates(found[power] ?? [], grid: grid).compactMap { $0?.count } == brute.aggregates(model.finite(power)).map(\.count))

            // Rollups are sealed: no summed value appears in clear.
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let rows = try admin.query("SELECT payload FROM wattline.rollups WHERE channel_id = $1 AND level = '1d'", [.int64(Int64(power))])
            #expect(rows.rows.count == 13)  // the data reach 1 a.m. of the 13th local day
            let maxima = brute.aggregates(model.finite(power)).map { withUnsafeBytes(of: $0.max.bitPattern.littleEndian) { Array($0) } }
            for row in rows.rows {
                let payload = try row.bytes(0)
                #expect(!maxima.contains { needle in payload.indices.dropLast(7).contains { Array(payload[$0..<($0 + 8)]) == needle } })
            }
        }
    }

    @Test("latest values: later time wins, at equal times the later stored; a backlog of old batches changes nothing")
    func latestPrecedence() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let logger = try #require(fixture.authorization[.logger])
            let viewer = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.viewer]))
            let (energy, power) = (fixture.siteChannels[0], fixture.siteChannels[1])
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let t = now - 60_000
            _ = try await IngestTests.stream(client, secret: logger, [Self.batch(1, [(power, t, [(1, 0)]), (energy, t, [(10, 0)])])])
            try await Compactor(store: fixture.services.store, keyring: TenantKeyring(master: fixture.master)).compactAll(minimumAge: .zero) {
                Issue.record("compaction failed: \($1)")
            }
            // Not compacted: power corrected at t twice (the later stored wins), then old backfill
            // for both channels, which must not replace anything.
            _ = try await IngestTests.stream(client, secret: logger, [
                Self.batch(2, [(power, t, [(2, 0)])]), Self.batch(3, [(power, t, [(3, 0)])]),
                Self.batch(4, [(power, t - 86_400_000, [(7, 0), (8, 0)]), (energy, t - 86_400_000, [(70, 0)])]),
            ])
            let latest = try await TelemetryV1.QueryService.Client(client).readLatest(.with {
                $0.tenantID = bytes(fixture.ownTenant); $0.channelIDs = [power, energy]
            }, options: viewer)
            #expect(latest.channelIDs == [power, energy] && latest.timesMs == [t, t] && latest.values == [3, 10])
        }
    }

    @Test("bad requests get precise statuses: unknown channel, energy of a non-counter, unknown zone, too many buckets")
    func badRequests() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let viewer = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.viewer]))
            let queries = TelemetryV1.QueryService.Client(client)
            let tenant = bytes(fixture.ownTenant)
            let range = TelemetryV1.TimeRange.with { $0.startMs = 0; $0.endMs = 86_400_000 }
            func code(_ call: () async throws -> Void) async -> UInt32? {
                do { try await call(); return nil } catch let error as RPCError { return UInt32(error.code) } catch { return 999 }
            }
            #expect(await code { _ = try await queries.readLatest(.with { $0.tenantID = tenant; $0.channelIDs = [987_654_321] }, options: viewer) } == 5)
            #expect(await code { _ = try await queries.readLatest(.with { $0.tenantID = tenant; $0.channelIDs = [fixture.otherSiteChannel, 0] }, options: viewer) } == 3)
            #expect(await code {
                _ = try await queries.readEnergy(.with {
                    $0.tenantID = tenant; $0.channelIDs = [fixture.siteChannels[1]]; $0.range = range; $0.bucketing = .with { $0.kind = .calendar(.day) }
                }, options: viewer)
            } == 3)
            #expect(await code {
                _ = try await queries.readEnergy(.with {
                    $0.tenantID = tenant; $0.channelIDs = [fixture.siteChannels[0]]; $0.range = range
                    $0.bucketing = .with { $0.kind = .calendar(.day); $0.timeZone = "Mars/Olympus" }
                }, options: viewer)
            } == 3)
            #expect(await code {
                _ = try await queries.readEnergy(.with {
                    $0.tenantID = tenant; $0.channelIDs = [fixture.siteChannels[0]]; $0.range = .with { $0.startMs = 0; $0.endMs = 1 << 40 }
                    $0.bucketing = .with { $0.kind = .intervalMs(1_000) }
                }, options: viewer)
            } == 3)
            #expect(await code {
                _ = try await queries.readEnergy(.with {
                    $0.tenantID = tenant; $0.channelIDs = [fixture.siteChannels[0]]; $0.range = .with { $0.startMs = 5; $0.endMs = 5 }
                    $0.bucketing = .with { $0.kind = .calendar(.day) }
                }, options: viewer)
            } == 3)
        }
    }

    @Test("retention deletes a tenant's telemetry older than its days, and only that")
    func retention() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let logger = try #require(fixture.authorization[.logger])
            let owner = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.owner]))
            let power = fixture.siteChannels[1]
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let old = now - 40 * 86_400_000, recent = now - 86_400_000
            _ = try await IngestTests.stream(client, secret: logger, [
                Self.batch(1, [(power, old, [(1, 0), (2, 0)])]), Self.batch(2, [(power, recent, [(3, 0), (4, 0)])]),
            ])
            try await Compactor(store: fixture.services.store, keyring: TenantKeyring(master: fixture.master)).compactAll(minimumAge: .zero) {
                Issue.record("compaction failed: \($1)")
            }
            let updated = try await TenancyV1.TenantService.Client(client).updateTenant(.with {
                $0.tenantID = bytes(fixture.ownTenant)
                $0.retentionUpdate = .retentionDays(30)
            }, options: owner)
            #expect(updated.tenant?.retentionDays == 30)
            let report = try await Retention(store: fixture.services.store).apply(nowMs: now)
            #expect(report.blocks == 1 && report.rollups >= 3)
            let remaining = try await fixture.services.store.transaction(tenant: TenantID(fixture.ownTenant)) { tx in
                try SeriesReader(keyring: TenantKeyring(master: fixture.master)).samples(tx, channel: power, fromMs: 0, toMs: now)
            }
            #expect(remaining.flatMap(\.values) == [3, 4])
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            #expect(try admin.query("SELECT count(*) FROM wattline.rollups WHERE chunk_end_ms <= $1", [.int64(now - 30 * 86_400_000)])[0].int64(0) == 0)
        }
    }

    // MARK: Data

    /// Two channels' readings from `from` to `to` at random steps (20 s to 15 min, some on the
    /// hour): an energy counter with flagged resets and unflagged drops, a power reading with a NaN.
    static func generate(
        energy: UInt64, power: UInt64, from: Int64, to: Int64, _ random: inout SplitMix64, energyBase: Double = 1_000
    ) -> [Batch] {
        var batches: [Batch] = []
        var counter = energyBase
        var time = from
        var pending: [(Int64, Double, UInt32, Double)] = []
        while time < to {
            var quality: UInt32 = 0
            let roll = random.next() % 400
            if roll == 0 {
                counter = Double(random.next() % 50)  // reset, flagged by the meter
                quality = 4
            } else if roll == 1 {
                counter = max(0, counter - 700)  // a drop the meter did not flag
            } else {
                counter += Double(random.next() % 2_000) / 1_000
            }
            let powerValue = roll == 2 ? Double.nan : Double(random.next() % 100_000) / 100
            pending.append((time, counter, quality, powerValue))
            if pending.count == 300 {
                batches.append(Self.pair(energy, power, pending))
                pending = []
            }
            let step = random.next() % 10 == 0 ? (3_600_000 - time % 3_600_000) : Int64(20_000 + random.next() % 880_000)
            time += step
        }
        if !pending.isEmpty { batches.append(Self.pair(energy, power, pending)) }
        return batches
    }

    static func pair(_ energy: UInt64, _ power: UInt64, _ rows: [(Int64, Double, UInt32, Double)]) -> Batch {
        .with {
            $0.channelIDs = [energy, power]
            $0.seriesStartMs = [rows[0].0, rows[0].0]
            $0.sampleCounts = [UInt32(rows.count), UInt32(rows.count)]
            let deltas = rows.indices.map { $0 == 0 ? Int32(0) : Int32(rows[$0].0 - rows[$0 - 1].0) }
            $0.timeDeltasMs = deltas + deltas
            $0.values = rows.map(\.1) + rows.map(\.3)
            $0.qualities = rows.map(\.2) + rows.map { _ in 0 }
        }
    }

    static func batch(_ sequence: UInt64, _ series: [(UInt64, Int64, [(Double, UInt32)])], deltaMs: Int32 = 60_000) -> Batch {
        .with {
            $0.sequence = sequence
            $0.channelIDs = series.map(\.0)
            $0.seriesStartMs = series.map(\.1)
            $0.sampleCounts = series.map { UInt32($0.2.count) }
            $0.timeDeltasMs = series.flatMap { $0.2.indices.map { $0 == 0 ? Int32(0) : deltaMs } }
            $0.values = series.flatMap { $0.2.map(\.0) }
            $0.qualities = series.flatMap { $0.2.map(\.1) }
        }
    }

    static func flatten(_ chunks: [TelemetryV1.SeriesChunk]) -> [String] {
        chunks.flatMap { chunk in
            var time = chunk.startMs
            return chunk.values.indices.map { index in
                time += Int64(chunk.timeDeltasMs[index])
                return "\(time) \(chunk.values[index].bitPattern) \(chunk.qualities.isEmpty ? 0 : chunk.qualities[index])"
            }
        }
    }

    static func times(_ batches: [Batch], _ channel: UInt64) -> [Int64] { SampleModel(batches).samples[channel]!.keys.sorted() }

    static func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)) }
}

/// The brute-force side: bucket of each sample from its local date and time (not the server's
/// calendar arithmetic), sums in time order, one reading after the other.
struct BruteForce {
    struct Bucket {
        var start: Int64
        var count: UInt64 = 0
        var sum = 0.0, min = Double.infinity, max = -Double.infinity, first = 0.0, last = 0.0
    }

    let from: Int64, to: Int64
    let bucketOf: (Int64) -> Int64
    /// Every bucket's start, the first clipped to `from`.
    let starts: [Int64]

    init(bucketing: TelemetryV1.Bucketing, siteZone: String, from: Int64, to: Int64) throws {
        (self.from, self.to) = (from, to)
        switch bucketing.kind {
        case .intervalMs(let interval)?:
            bucketOf = { time in time - ((time % interval) + interval) % interval }
        case .calendar(let unit)?:
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = try #require(TimeZone(identifier: bucketing.timeZone.isEmpty ? siteZone : bucketing.timeZone))
            bucketOf = { time in
                let date = Date(timeIntervalSince1970: Double(time) / 1_000)
                let local = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second, .nanosecond, .weekday], from: date)
                func midnight(_ year: Int, _ month: Int, _ day: Int) -> Int64 {
                    Int64((calendar.date(from: DateComponents(year: year, month: month, day: day))!.timeIntervalSince1970 * 1_000).rounded())
                }
                switch unit {
                case .hour:  // back to the top of the local hour
                    return time - Int64(local.minute! * 60 + local.second!) * 1_000 - Int64((local.nanosecond! + 500_000) / 1_000_000) % 1_000
                case .day:
                    return midnight(local.year!, local.month!, local.day!)
                case .week:  // weekday 1 is Sunday; back to Monday
                    let back = (local.weekday! + 5) % 7
                    let day = calendar.date(byAdding: .day, value: -back, to: calendar.date(from: DateComponents(year: local.year!, month: local.month!, day: local.day!))!)!
                    return Int64((day.timeIntervalSince1970 * 1_000).rounded())
                default:
                    return midnight(local.year!, local.month!, 1)
                }
            }
        case nil:
            throw CallFailure.invalidArgument("no bucketing")
        }
        var starts = [from]
        var cursor = from
        // Walk the range in steps no longer than any bucket, so every bucket start is found.
        let step: Int64 = if case .intervalMs(let interval)? = bucketing.kind { min(interval, 900_000) } else { 900_000 }
        while cursor < to {
            let bucket = bucketOf(cursor)
            if bucket > starts[starts.count - 1] { starts.append(bucket) }
            cursor += step
        }
        if bucketOf(to - 1) > starts[starts.count - 1] { starts.append(bucketOf(to - 1)) }
        self.starts = starts
    }

    func reported(_ time: Int64) -> Int64 { Swift.max(from, bucketOf(time)) }

    func aggregates(_ readings: [Reading]) -> [Bucket] {
        var buckets: [Bucket] = []
        for reading in readings where reading.timeMs >= from && reading.timeMs < to {
            let start = reported(reading.timeMs)
            if buckets.last?.start != start { buckets.append(Bucket(start: start, first: reading.value)) }
            buckets[buckets.count - 1].count += 1
            buckets[buckets.count - 1].sum += reading.value
            buckets[buckets.count - 1].min = Swift.min(buckets[buckets.count - 1].min, reading.value)
            buckets[buckets.count - 1].max = Swift.max(buckets[buckets.count - 1].max, reading.value)
            buckets[buckets.count - 1].last = reading.value
        }
        return buckets
    }

    /// Per bucket: the rise from each reading to the next, counted in the bucket of the later
    /// reading's time minus 1 ms; readings from `from` through `to` inclusive.
    func energy(_ readings: [Reading], rollover: Double) -> [(consumption: Double, resets: UInt32)] {
        var result = starts.map { _ in (consumption: 0.0, resets: UInt32(0)) }
        let inRange = readings.filter { $0.timeMs >= from && $0.timeMs <= to }
        for (a, b) in zip(inRange, inRange.dropFirst()) {
            let index = starts.lastIndex { $0 <= b.timeMs - 1 }!
            if b.quality & 4 != 0 {
                result[index].consumption += b.value
                result[index].resets += 1
            } else if b.value >= a.value {
                result[index].consumption += b.value - a.value
            } else {
                result[index].consumption += rollover > 0 ? rollover - a.value + b.value : b.value
                result[index].resets += 1
            }
        }
        return result
    }
}
