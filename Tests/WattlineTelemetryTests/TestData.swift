import WattlineTelemetry
import WattlineTestSupport

typealias SeededGenerator = SplitMix64

let startMs: Int64 = 1_767_225_600_000  // 2026-01-01

/// Polling times: a fixed interval with 0...jitter ms of jitter and an outage now and then.
func pollTimes(count: Int, intervalMs: Int64 = 10_000, jitterMs: Int64 = 40, using rng: inout SeededGenerator) -> [Int64] {
    var times: [Int64] = []
    var slot: Int64 = 0
    while times.count < count {
        if Int.random(in: 0..<500, using: &rng) == 0 { slot += Int64.random(in: 5...360, using: &rng) }
        times.append(startMs + slot * intervalMs + Int64.random(in: 0...jitterMs, using: &rng))
        slot += 1
    }
    return times
}

/// A value quantised to `resolution` the way meters report it (nearest double to the decimal).
func quantised(_ value: Double, decimals: Int) -> Double {
    var power = 1.0
    for _ in 0..<decimals { power *= 10 }
    return (value * power).rounded() / power
}

/// A random walk at a decimal resolution: voltage-like data.
func walk(count: Int, start: Double, step: Double, decimals: Int, using rng: inout SeededGenerator) -> [Double] {
    var level = start
    return (0..<count).map { _ in
        level += Double.random(in: -step...step, using: &rng)
        return quantised(level, decimals: decimals)
    }
}

func series(_ times: [Int64], _ values: [Double], _ qualities: [UInt32] = []) throws -> ChannelSeries {
    try ChannelSeries(timesMs: times, values: values, qualities: qualities)
}

/// Encodes, decodes with the block's own summary, and checks every bit came back.
@discardableResult
func roundTrip(_ input: ChannelSeries) throws -> [UInt8] {
    let bytes = BlockCodec.encode(input)
    let output = try BlockCodec.decode(bytes, summary: input.summary)
    guard output.isBitwiseEqual(to: input) else { throw RoundTripMismatch(count: input.count) }
    return bytes
}

struct RoundTripMismatch: Error { let count: Int }

let tenantA: [UInt8] = Array(repeating: 0xA1, count: 16)
let tenantB: [UInt8] = Array(repeating: 0xB2, count: 16)
