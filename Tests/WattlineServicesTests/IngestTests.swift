import Foundation
import Testing
import WattlineClient
import WattlineProtos
import WattlineStore
import WattlineTestSupport

/// The ingest stream end to end: a logger authenticated by its API secret, through the assembled
/// server, into PostgreSQL.
@Suite("Ingest: durable acks, exactly once, precise rejections", .serialized)
struct IngestTests {
    typealias Batch = TelemetryV1.TelemetryBatch

    static func batch(_ sequence: UInt64, _ channels: [UInt64], start: Int64, values: [[Double]], qualities: [UInt32] = []) -> Batch {
        .with {
            $0.sequence = sequence
            $0.channelIDs = channels
            $0.seriesStartMs = channels.map { _ in start }
            $0.sampleCounts = values.map { UInt32($0.count) }
            $0.timeDeltasMs = values.flatMap { series in series.indices.map { $0 == 0 ? Int32(0) : Int32(60_000) } }
            $0.values = values.flatMap { $0 }
            $0.qualities = qualities
        }
    }

    /// Runs one ingest stream: the hello, then `batches`; returns the welcome and the acks.
    static func stream(_ client: WattlineClient, secret: String, _ batches: [Batch]) async throws
        -> (welcome: TelemetryV1.IngestWelcome, acks: [TelemetryV1.BatchAck]) {
        try await client.bidirectional(TelemetryV1.IngestService.Ingest.self, options: CallOptions(timeout: .seconds(30), authorization: secret)) {
            requests, responses in
            try await requests.write(.with { $0.kind = .hello(.with { $0.firmwareVersion = "test 1.0"; $0.maxInFlight = 8 }) })
            for batch in batches { try await requests.write(.with { $0.kind = .batch(batch) }) }
            requests.finish()
            var welcome: TelemetryV1.IngestWelcome?
            var acks: [TelemetryV1.BatchAck] = []
            for try await response in responses {
                switch response.kind {
                case .welcome(let value)?: welcome = value
                case .ack(let ack)?: acks.append(ack)
                case nil: break
                }
            }
            return (try #require(welcome), acks)
        }
    }

    @Test("valid batches are stored once, resends are duplicates, every malformed batch gets its own status and the stream carries on")
    func ingest() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let secret = try #require(fixture.authorization[.logger])
            let (energy, power) = (fixture.siteChannels[0], fixture.siteChannels[1])
            let start = Int64(Date().timeIntervalSince1970 * 1_000) - 3_600_000

            let first = Self.batch(1, [energy, power], start: start, values: [[1_000.25, 1_000.5, 1_000.75], [12.5, .nan, 13.0]])
            var sameSequenceOtherContent = first
            sameSequenceOtherContent.values[0] = 999
            let unknownChannel = Self.batch(2, [9_999_999], start: start, values: [[1]])
            let otherSite = Self.batch(2, [fixture.otherSiteChannel], start: start, values: [[230.1]])
            let future = Self.batch(2, [power], start: start + 86_400_000, values: [[1]])
            var ragged = Self.batch(2, [power], start: start, values: [[1, 2]])
            ragged.values.removeLast()
            let serverFlag = Self.batch(2, [power], start: start, values: [[1]], qualities: [16])
            let second = Self.batch(2, [energy], start: start + 180_000, values: [[1_001.0]])

            let (welcome, acks) = try await Self.stream(client, secret: secret, [
                first, first, sameSequenceOtherContent, unknownChannel, otherSite, future, ragged, serverFlag, second,
            ])
            #expect(welcome.lastStoredSequence == 0)
            #expect(welcome.maxInFlight == 8)
            let summary = acks.map { "\($0.sequence) \($0.outcome) \($0.code) \($0.storedSamples) \($0.flaggedSamples)" }
            #expect(summary == [
                "1 stored 0 6 1",        // the NaN is kept, flagged by the server
                "1 duplicate 0 0 0",     // a resend: acknowledged again, stored once
                "1 rejected 6 0 0",      // same sequence, other content
                "2 rejected 5 0 0",      // no such channel
                "2 rejected 7 0 0",      // another site's channel
                "2 rejected 11 0 0",     // a day in the future
                "2 rejected 3 0 0",      // columns of different lengths
                "2 rejected 3 0 0",      // a flag only the server sets
                "2 stored 0 1 0",
            ])
            #expect(acks.allSatisfy { $0.outcome != .rejected || !$0.message.isEmpty })

            // A new stream learns where to resume.
            let (resumed, none) = try await Self.stream(client, secret: secret, [])
            #expect(resumed.lastStoredSequence == 2)
            #expect(none.isEmpty)

            // In the database: two batches, seven samples, the values sealed.
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let rows = try admin.query("SELECT sequence, sample_count, flagged_count, payload FROM wattline.ingest_batches ORDER BY sequence")
            #expect(rows.count == 2)
            #expect(try rows.rows.map { try $0.int64(1) } == [6, 1])
            let needle = withUnsafeBytes(of: (1_000.25 as Double).bitPattern.littleEndian) { Array($0) }
            let payload = try rows.rows[0].bytes(3)
            #expect(!payload.indices.dropLast(needle.count - 1).contains { Array(payload[$0..<($0 + needle.count)]) == needle })
        }
    }

    @Test("an oversize batch, a sample older than the backfill window, and a channel created mid-stream")
    func limits() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let secret = try #require(fixture.authorization[.logger])
            let power = fixture.siteChannels[1]
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            var oversize = Self.batch(1, [power], start: now - 86_400_000, values: [[Double](repeating: 1, count: 100_001)])
            oversize.timeDeltasMs = [Int32](repeating: 1, count: 100_001)
            let ancient = Self.batch(1, [power], start: now - 401 * 86_400_000, values: [[1]])
            let valid = Self.batch(1, [power], start: now - 60_000, values: [[2]])
            let (_, acks) = try await Self.stream(client, secret: secret, [oversize, ancient, valid])
            #expect(acks.map { "\($0.outcome) \($0.code)" } == ["rejected 3", "rejected 11", "stored 0"])
            #expect(acks.first?.message.contains("100000") == true)

            // A channel the technician adds while the logger's stream is open is accepted on first use.
            let meters = TenancyV1.MeterService.Client(client)
            let owner = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.owner]))
            let meter = try await meters.listMeters(.with { $0.tenantID = bytes(fixture.ownTenant) }, options: owner).meters.first
            let outcomes = try await client.bidirectional(
                TelemetryV1.IngestService.Ingest.self, options: CallOptions(timeout: .seconds(30), authorization: secret)
            ) { requests, responses in
                try await requests.write(.with { $0.kind = .hello(.with { $0.maxInFlight = 1 }) })
                var iterator = responses.makeAsyncIterator()
                guard case .welcome(let welcome)? = try await iterator.next()?.kind else { return [String]() }
                let added = try await meters.createChannel(.with {
                    $0.tenantID = bytes(fixture.ownTenant)
                    $0.meterID = meter?.meterID ?? []
                    $0.quantity = .frequency
                    $0.unit = "Hz"
                }, options: owner).channel?.channelID ?? 0
                let batch = Self.batch(welcome.lastStoredSequence + 1, [added], start: now - 30_000, values: [[50.01]])
                try await requests.write(.with { $0.kind = .batch(batch) })
                requests.finish()
                var seen: [String] = []
                while let response = try await iterator.next() {
                    if case .ack(let ack)? = response.kind { seen.append("\(ack.outcome)") }
                }
                return seen
            }
            #expect(outcomes == ["stored"])
        }
    }

    @Test("two streams racing with the same batch store it once")
    func concurrentResends() async throws {
        try await ServicesFixture.with { fixture in
            let server = try await fixture.serve(fixture.services.router)
            defer { server.close(promise: nil) }
            let secret = try #require(fixture.authorization[.logger])
            let start = Int64(Date().timeIntervalSince1970 * 1_000) - 600_000
            let batches = (1...20).map { Self.batch(UInt64($0), [fixture.siteChannels[1]], start: start + Int64($0) * 1_000, values: [[Double($0)]]) }
            let port = server.localAddress!.port!
            async let a = Self.stream(WattlineClient(host: "127.0.0.1", port: port), secret: secret, batches)
            async let b = Self.stream(WattlineClient(host: "127.0.0.1", port: port), secret: secret, batches)
            let (left, right) = try await (a.acks, b.acks)
            for index in 0..<20 {
                let outcomes = Set([left[index].outcome, right[index].outcome])
                #expect(outcomes == [.stored, .duplicate], "batch \(index + 1): \(outcomes)")
            }
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            #expect(try admin.query("SELECT count(*) FROM wattline.ingest_batches")[0].int64(0) == 20)
        }
    }
}
