import Testing
import WattlineTelemetry

@Suite struct RoundTripTests {
    @Test(arguments: [1, 2, 3, 17, 1_000, 8_640])
    func meterLikeSeries(count: Int) throws {
        var rng = SeededGenerator(seed: UInt64(count))
        let times = pollTimes(count: count, using: &rng)
        let voltage = walk(count: count, start: 230, step: 0.3, decimals: 1, using: &rng)
        let bytes = try roundTrip(try series(times, voltage))
        if count >= 1_000 {
            // Jitter (~5.4 bits) plus a small random walk: well under 2 bytes a sample.
            #expect(Double(bytes.count) / Double(count) < 2.0)
        }
    }

    @Test func constantSeriesCostsAlmostNothing() throws {
        let times = (0..<4_096).map { startMs + Int64($0) * 60_000 }
        let bytes = try roundTrip(try series(times, Array(repeating: 49.98, count: times.count)))
        #expect(bytes.count < 40)
    }

    @Test func monotonicCounterWithResets() throws {
        var rng = SeededGenerator(seed: 7)
        let times = pollTimes(count: 5_000, using: &rng)
        var energy = 4_999_990.0
        var values: [Double] = []
        var qualities: [UInt32] = []
        for index in 0..<times.count {
            energy += Double.random(in: 0.5...0.9, using: &rng)
            if index == 1_234 || index == 4_000 { energy = 0 }  // meter replaced / rollover
            values.append(quantised(energy, decimals: 2))
            qualities.append(index == 1_234 || index == 4_000 ? 4 : 0)
        }
        try roundTrip(try series(times, values, qualities))
    }

    @Test func negativeTinyAndHugeMagnitudes() throws {
        let values: [Double] = [
            -1, -0.001, -273.15, 1e-300, -1e-300, 1e300, -1e300, .greatestFiniteMagnitude, -.greatestFiniteMagnitude,
            .leastNormalMagnitude, 9_007_199_254_740_994, -9_223_372_036_854_775_808, 0.1 + 0.2, .pi,
        ]
        let times = values.indices.map { startMs + Int64($0) }
        try roundTrip(try series(times, values))
    }

    @Test func nonFiniteSubnormalAndNegativeZero() throws {
        let payloadNaN = Double(bitPattern: 0x7FF4_0000_DEAD_BEEF)  // signalling, with a payload
        let values: [Double] = [
            .nan, -.nan, payloadNaN, .infinity, -.infinity, .leastNonzeroMagnitude, -.leastNonzeroMagnitude,
            Double(bitPattern: 0x000F_FFFF_FFFF_FFFF), -0.0, 0.0, 1.5,
        ]
        let times = values.indices.map { startMs + Int64($0) * 1_000 }
        try roundTrip(try series(times, values, values.indices.map { UInt32($0 % 2) * 16 }))
        // -0.0 alone must not collapse to +0.0 through the decimal path.
        let zeros = try roundTrip(try series([1, 2, 3], [0.0, -0.0, 0.0]))
        #expect(!zeros.isEmpty)
    }

    @Test func aFewNonFiniteValuesStayCheap() throws {
        var rng = SeededGenerator(seed: 77)
        let times = pollTimes(count: 4_000, using: &rng)
        let clean = walk(count: times.count, start: 230, step: 0.3, decimals: 1, using: &rng)
        var dirty = clean
        var flags = [UInt32](repeating: 0, count: times.count)
        for (offset, index) in [10, 500, 501, 3_999].enumerated() {
            dirty[index] = [Double.nan, .infinity, -0.0, 0.1 + 0.2][offset]
            flags[index] = 16
        }
        let cleanBytes = try roundTrip(try series(times, clean))
        let dirtyBytes = try roundTrip(try series(times, dirty, flags))
        #expect(dirtyBytes.count < cleanBytes.count + 200)  // exceptions, not 32 KB of raw doubles
        // Too many exceptions: raw mode, still exact.
        try roundTrip(try series(times, clean.enumerated().map { $0.offset % 5 == 0 ? .nan : $0.element }))
    }

    @Test func randomBitPatterns() throws {
        var rng = SeededGenerator(seed: 99)
        for size in [1, 2, 5, 100, 3_000] {
            var time = Int64.random(in: Int64.min / 2...Int64.max / 2, using: &rng)
            var times: [Int64] = []
            for _ in 0..<size {
                times.append(time)
                time += Int64.random(in: 1...(1 << 40), using: &rng)
            }
            let values = (0..<size).map { _ in Double(bitPattern: rng.next()) }
            let qualities = (0..<size).map { _ in UInt32.random(in: 0...UInt32.max, using: &rng) }
            try roundTrip(try series(times, values, qualities))
        }
    }

    @Test func irregularAndExtremeTimes() throws {
        var rng = SeededGenerator(seed: 5)
        var times: [Int64] = []
        var time = startMs
        for _ in 0..<2_000 {
            time += [1, 2, 999, 10_000, 3_600_000, 86_400_000][Int.random(in: 0..<6, using: &rng)]
            times.append(time)
        }
        try roundTrip(try series(times, times.map { Double($0 % 1_000) / 10 }))
        // The whole Int64 range in one block: every difference wraps, and still round-trips.
        try roundTrip(try series([.min, -1, 0, 1, .max], [1, 2, 3, 4, 5]))
        try roundTrip(try series([.min, .max], [0, 0]))
    }

    @Test func singleSampleAndMaximumBlock() throws {
        try roundTrip(try series([startMs], [42.5], [8]))
        var rng = SeededGenerator(seed: 11)
        let count = ChannelSeries.maxSampleCount
        let times = pollTimes(count: count, intervalMs: 1_000, using: &rng)
        let values = walk(count: count, start: 50, step: 0.02, decimals: 2, using: &rng)
        try roundTrip(try series(times, values))
        #expect(throws: TelemetryBlockError.self) { try series(times + [times.last! + 1], values + [0]) }
    }

    @Test func qualityFlagsSparseAndDense() throws {
        var rng = SeededGenerator(seed: 3)
        let times = pollTimes(count: 3_000, using: &rng)
        let values = walk(count: times.count, start: 20, step: 0.05, decimals: 1, using: &rng)
        let sparse = times.indices.map { $0 % 997 == 5 ? UInt32(1) : 0 }
        let good = try roundTrip(try series(times, values))
        let rare = try roundTrip(try series(times, values, sparse))
        #expect(rare.count - good.count < 16)  // a few flags cost a few bytes
        try roundTrip(try series(times, values, times.indices.map { _ in UInt32.random(in: 0...31, using: &rng) }))
        try roundTrip(try series(times, values, Array(repeating: UInt32.max, count: times.count)))
    }

    @Test func encodingIsDeterministic() throws {
        var rng = SeededGenerator(seed: 21)
        let times = pollTimes(count: 2_000, using: &rng)
        let input = try series(times, walk(count: times.count, start: 0.9, step: 0.002, decimals: 3, using: &rng))
        #expect(BlockCodec.encode(input) == BlockCodec.encode(input))
        // Same samples given in another order and with superseded duplicates: same block.
        let shuffled = Array(times.indices.reversed())
        let messy = try ChannelSeries.normalizing(
            timesMs: shuffled.map { times[$0] } + [times[10]], values: shuffled.map { input.values[$0] } + [input.values[10]])
        #expect(BlockCodec.encode(messy) == BlockCodec.encode(input))
    }

    @Test func knownAnswer() throws {
        // Freezes the format: a change here means existing blocks no longer decode.
        let input = try series([1_000, 11_003, 21_001, 61_002], [230.1, 230.2, 230.2, -0.5], [0, 0, 2, 0])
        let bytes = try roundTrip(input)
        #expect(bytes.map { String($0, radix: 16) }.joined(separator: " ") == knownAnswerHex)
    }
}

let knownAnswerHex = "1 b 90 4e 2 0 2 3 30 0 2 2 b b 1 0 9 83 12 3e b0 cd dc 2 0 2 0 0 2 12"

@Suite struct SeriesRulesTests {
    @Test func rejectsInvalidSeries() {
        #expect(throws: TelemetryBlockError.self) { try series([], []) }
        #expect(throws: TelemetryBlockError.self) { try series([1, 1], [0, 0]) }
        #expect(throws: TelemetryBlockError.self) { try series([2, 1], [0, 0]) }
        #expect(throws: TelemetryBlockError.self) { try series([1, 2], [0]) }
        #expect(throws: TelemetryBlockError.self) { try series([1, 2], [0, 0], [0]) }
    }

    @Test func normalizingSortsAndLastDuplicateWins() throws {
        let normalized = try ChannelSeries.normalizing(
            timesMs: [30, 10, 20, 10, 30], values: [3, 1, 2, 1.5, 3.5], qualities: [0, 0, 0, 2, 0])
        #expect(normalized.timesMs == [10, 20, 30])
        #expect(normalized.values == [1.5, 2, 3.5])
        #expect(normalized.qualities == [2, 0, 0])
        #expect(throws: TelemetryBlockError.self) { try ChannelSeries.normalizing(timesMs: [], values: []) }
    }

    @Test func summaryRules() {
        #expect(throws: TelemetryBlockError.self) { try BlockSummary(sampleCount: 0, firstMs: 0, lastMs: 0) }
        #expect(throws: TelemetryBlockError.self) { try BlockSummary(sampleCount: 1, firstMs: 0, lastMs: 1) }
        #expect(throws: TelemetryBlockError.self) { try BlockSummary(sampleCount: 2, firstMs: 1, lastMs: 1) }
        #expect(throws: TelemetryBlockError.self) {
            try BlockSummary(sampleCount: ChannelSeries.maxSampleCount + 1, firstMs: 0, lastMs: 1 << 40)
        }
    }
}
