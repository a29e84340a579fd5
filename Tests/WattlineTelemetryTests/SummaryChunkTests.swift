import Testing
@testable import WattlineTelemetry

@Suite("Summaries: merging, counter increases and the rollup chunk codec")
struct SummaryChunkTests {
    static func summary(_ readings: [Reading]) -> SampleSummary {
        var builder = SummaryBuilder()
        readings.forEach { builder.add($0) }
        return builder.summary!
    }

    static let readings: [Reading] = [
        Reading(timeMs: 1_000, value: 10), Reading(timeMs: 2_000, value: 12.5), Reading(timeMs: 3_000, value: .nan, quality: 16),
        Reading(timeMs: 4_000, value: 3, quality: 4), Reading(timeMs: 5_000, value: 7), Reading(timeMs: 6_000, value: 1),
        Reading(timeMs: 7_000, value: 2),
    ]

    @Test("a summary of two runs is the summary of the whole; NaN is left out; resets and wraps are counted")
    func merging() {
        let whole = Self.summary(Self.readings)
        for cut in 1..<Self.readings.count where Self.readings[cut - 1].isAggregated && Self.readings[cut].isAggregated {
            let merged = Self.summary(Array(Self.readings[..<cut])).followed(by: Self.summary(Array(Self.readings[cut...])))
            #expect(merged == whole)
        }
        #expect(whole.count == 6 && whole.sum == 35.5 && whole.min == 1 && whole.max == 12.5)
        #expect(whole.first.value == 10 && whole.last.value == 2)
        // 10 → 12.5 (+2.5), 12.5 → 3 flagged reset (+3), 3 → 7 (+4), 7 → 1 drop, 1 → 2 (+1).
        #expect(whole.counter.resets == 2)
        let restarted: Double = 2.5 + 3 + 4 + 1 + 1  // the drop restarts from 0
        let wrapped: Double = 2.5 + 3 + 4 + 1 + 94  // the drop wraps at 100
        #expect(whole.counter.consumption(rolloverValue: 0) == restarted)
        #expect(whole.counter.consumption(rolloverValue: 100) == wrapped)
    }

    @Test("chunks round-trip bit for bit; every truncation and corruption is malformed, never a trap")
    func codec() throws {
        let chunk = SummaryChunk(startMs: 86_400_000, buckets: [
            (86_400_000, Self.summary(Array(Self.readings[0..<2]).map { Reading(timeMs: $0.timeMs + 86_400_000, value: $0.value) })),
            (86_400_000 + 900_000, Self.summary(Self.readings.map { Reading(timeMs: $0.timeMs + 86_400_000 + 900_000, value: $0.value, quality: $0.quality) })),
        ])
        let bytes = chunk.encode()
        #expect(try SummaryChunk.decode(bytes, startMs: 86_400_000) == chunk)
        for length in 0..<bytes.count {
            #expect(throws: TelemetryBlockError.self) { try SummaryChunk.decode(Array(bytes[..<length]), startMs: 86_400_000) }
        }
        #expect(throws: TelemetryBlockError.self) { try SummaryChunk.decode(bytes + [0], startMs: 86_400_000) }
        var random = UInt64(7)
        for _ in 0..<2_000 {  // random byte flips decode or fail cleanly
            var corrupt = bytes
            random = random &* 6364136223846793005 &+ 1442695040888963407
            corrupt[Int(random >> 33) % corrupt.count] ^= UInt8(truncatingIfNeeded: random >> 20) | 1
            _ = try? SummaryChunk.decode(corrupt, startMs: 86_400_000)
        }
    }
}
