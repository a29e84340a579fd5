import Testing
import WattlineTelemetry

/// Decoding must end in a value or an error for any bytes and any summary, never a trap.
@Suite struct HostileBytesTests {
    static func sample() throws -> ChannelSeries {
        var rng = SeededGenerator(seed: 42)
        let times = pollTimes(count: 300, using: &rng)
        let values = walk(count: times.count, start: 1_000, step: 0.5, decimals: 2, using: &rng)
        var qualities = [UInt32](repeating: 0, count: times.count)
        qualities[17] = 1
        var series = try ChannelSeries(timesMs: times, values: values, qualities: qualities)
        // A raw-mode block too: NaN forces the IEEE path.
        if series.count > 0 {
            series = try ChannelSeries(timesMs: times, values: values.enumerated().map { $0.offset == 99 ? .nan : $0.element }, qualities: qualities)
        }
        return series
    }

    /// Decodes without trapping; a success must at least honour the summary.
    func decodeOrError(_ bytes: [UInt8], _ summary: BlockSummary) -> Bool {
        do {
            let series = try BlockCodec.decode(bytes, summary: summary)
            return series.count == summary.sampleCount && series.timesMs.first == summary.firstMs
                && series.timesMs.last == summary.lastMs
        } catch is TelemetryBlockError {
            return true
        } catch {
            return false
        }
    }

    @Test func everyTruncationIsAnError() throws {
        for input in [try Self.sample(), try series([5], [1])] {
            let bytes = BlockCodec.encode(input)
            for length in 0..<bytes.count {
                #expect(throws: TelemetryBlockError.self) { try BlockCodec.decode(Array(bytes[..<length]), summary: input.summary) }
            }
            #expect(throws: TelemetryBlockError.self) { try BlockCodec.decode(bytes + [0], summary: input.summary) }
        }
    }

    @Test func everyCorruptedByteDecodesOrFailsCleanly() throws {
        let input = try Self.sample()
        let bytes = BlockCodec.encode(input)
        var failures = 0
        for index in bytes.indices {
            for replacement: UInt8 in [0x00, 0xFF, bytes[index] ^ 0x80, bytes[index] ^ 0x01] where replacement != bytes[index] {
                var corrupted = bytes
                corrupted[index] = replacement
                if !decodeOrError(corrupted, input.summary) { failures += 1 }
            }
        }
        #expect(failures == 0)
    }

    @Test func randomBytesAndSummaries() throws {
        var rng = SeededGenerator(seed: 1234)
        var failures = 0
        for round in 0..<3_000 {
            let length = Int.random(in: 0..<(round % 10 == 0 ? 4_000 : 64), using: &rng)
            var bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &rng) }
            if !bytes.isEmpty, round % 2 == 0 { bytes[0] = BlockCodec.version }  // get past the version byte
            let count = [1, 2, 3, 100, ChannelSeries.maxSampleCount][round % 5]
            let first = Int64.random(in: .min / 2...0, using: &rng)
            let summary = try BlockSummary(
                sampleCount: count, firstMs: first, lastMs: count == 1 ? first : first + Int64.random(in: Int64(count)...(1 << 50), using: &rng))
            if !decodeOrError(bytes, summary) { failures += 1 }
        }
        #expect(failures == 0)
    }

    @Test func hostileLengthsAndCounts() throws {
        let summary = try BlockSummary(sampleCount: ChannelSeries.maxSampleCount, firstMs: 0, lastMs: 1 << 40)
        let cases: [[UInt8]] = [
            [BlockCodec.version, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F],  // timestamp column longer than the block
            [BlockCodec.version] + Array(repeating: 0xFF, count: 11),  // varint past 64 bits
            [BlockCodec.version, 0x80, 0x00],  // non-minimal varint
            [BlockCodec.version, 0x03, 0x00, 0x00, 0x3F],  // grid-less column, unknown header bits
            // interval 0, integer column: one span of 2^64-1 per miniblock of 1024, no bytes behind it
            [BlockCodec.version, 0x08, 0x00, 0x0C, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01],
            [2, 0, 0, 0],  // unknown codec version
        ]
        for bytes in cases {
            #expect(throws: TelemetryBlockError.self) { try BlockCodec.decode(bytes, summary: summary) }
        }
    }

    @Test func summaryMustMatchThePayload() throws {
        let input = try Self.sample()
        let bytes = BlockCodec.encode(input)
        let s = input.summary
        let wrong = [
            try BlockSummary(sampleCount: s.sampleCount - 1, firstMs: s.firstMs, lastMs: s.lastMs),
            try BlockSummary(sampleCount: s.sampleCount + 1, firstMs: s.firstMs, lastMs: s.lastMs),
            try BlockSummary(sampleCount: s.sampleCount, firstMs: s.firstMs - 1, lastMs: s.lastMs),
            try BlockSummary(sampleCount: s.sampleCount, firstMs: s.firstMs, lastMs: s.lastMs + 1),
        ]
        for summary in wrong {
            #expect(throws: TelemetryBlockError.self) { try BlockCodec.decode(bytes, summary: summary) }
        }
    }
}
