/// One channel's samples over a time range, in columns: strictly increasing times (ms since the
/// UNIX epoch), IEEE-754 values (any bit pattern: NaN payloads, ±Inf, -0.0 and subnormals are
/// kept exactly) and `QualityFlag` bits.
public struct ChannelSeries: Sendable {
    /// Most samples in one block: a day at a 1 s polling interval fits, and decoding a hostile
    /// block can never allocate more than about 3 MiB of columns.
    public static let maxSampleCount = 131_072

    public private(set) var timesMs: [Int64]
    public private(set) var values: [Double]
    /// One entry per sample; 0 is a good, measured value.
    public private(set) var qualities: [UInt32]

    public var count: Int { timesMs.count }
    public var summary: BlockSummary { BlockSummary(unchecked: count, firstMs: timesMs[0], lastMs: timesMs[count - 1]) }

    /// Checks the block rules: 1 to `maxSampleCount` samples, equal column lengths (`qualities`
    /// may be empty for all good), strictly increasing times. Use `normalizing` for raw input.
    public init(timesMs: [Int64], values: [Double], qualities: [UInt32] = []) throws {
        guard !timesMs.isEmpty, timesMs.count <= Self.maxSampleCount else {
            throw TelemetryBlockError(.invalidSamples, "a block holds 1 to \(Self.maxSampleCount) samples, got \(timesMs.count)")
        }
        guard values.count == timesMs.count, qualities.isEmpty || qualities.count == timesMs.count else {
            throw TelemetryBlockError(
                .invalidSamples,
                "column lengths differ: \(timesMs.count) times, \(values.count) values, \(qualities.count) qualities")
        }
        for index in 1..<timesMs.count where timesMs[index] <= timesMs[index - 1] {
            throw TelemetryBlockError(.invalidSamples, "times must strictly increase (sample \(index))")
        }
        self.init(unchecked: timesMs, values, qualities.isEmpty ? [UInt32](repeating: 0, count: timesMs.count) : qualities)
    }

    init(unchecked timesMs: [Int64], _ values: [Double], _ qualities: [UInt32]) {
        self.timesMs = timesMs
        self.values = values
        self.qualities = qualities
    }

    /// Raw samples in any order to a valid series: sorted by time (stable), and of several
    /// samples with the same time the **last one given wins** (a resent or corrected reading
    /// replaces the earlier one). Still throws for an empty or oversized input.
    public static func normalizing(timesMs: [Int64], values: [Double], qualities: [UInt32] = []) throws -> ChannelSeries {
        let blocks = try normalizingIntoBlocks(timesMs: timesMs, values: values, qualities: qualities)
        guard blocks.count == 1 else {
            throw TelemetryBlockError(.invalidSamples, "a block holds 1 to \(Self.maxSampleCount) samples, got more")
        }
        return blocks[0]
    }

    /// `normalizing` for any number of samples: the normalized samples cut into consecutive
    /// series of at most `maxSampleCount` (none for no samples).
    public static func normalizingIntoBlocks(timesMs: [Int64], values: [Double], qualities: [UInt32] = []) throws -> [ChannelSeries] {
        guard values.count == timesMs.count, qualities.isEmpty || qualities.count == timesMs.count else {
            throw TelemetryBlockError(.invalidSamples, "column lengths differ")
        }
        guard !timesMs.isEmpty else { return [] }
        // Sorting by (time, input position) is stable; the last index of each time wins.
        let order = timesMs.indices.sorted { (timesMs[$0], $0) < (timesMs[$1], $1) }
        var times: [Int64] = [], kept: [Double] = [], flags: [UInt32] = []
        times.reserveCapacity(order.count)
        kept.reserveCapacity(order.count)
        flags.reserveCapacity(order.count)
        for index in order {
            let quality = qualities.isEmpty ? 0 : qualities[index]
            if let last = times.last, last == timesMs[index] {
                kept[kept.count - 1] = values[index]
                flags[flags.count - 1] = quality
            } else {
                times.append(timesMs[index])
                kept.append(values[index])
                flags.append(quality)
            }
        }
        return stride(from: 0, to: times.count, by: maxSampleCount).map { start in
            let end = min(start + maxSampleCount, times.count)
            return ChannelSeries(unchecked: Array(times[start..<end]), Array(kept[start..<end]), Array(flags[start..<end]))
        }
    }

    /// Equality of every bit, so NaN equals the same NaN and -0.0 differs from 0.0.
    public func isBitwiseEqual(to other: ChannelSeries) -> Bool {
        timesMs == other.timesMs && qualities == other.qualities
            && values.map(\.bitPattern) == other.values.map(\.bitPattern)
    }
}
