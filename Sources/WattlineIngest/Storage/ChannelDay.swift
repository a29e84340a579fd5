import WattlineTelemetry

/// One channel's samples within one UTC day: the unit a compacted block covers. A query for one
/// channel reads only its own blocks, a day at a time.
struct ChannelDay: Hashable, Comparable {
    static let dayMs: Int64 = 86_400_000

    let channel: UInt64
    /// Days since the UNIX epoch (floor, so times before 1970 fall into their own day).
    let day: Int64

    init(channel: UInt64, timeMs: Int64) {
        self.channel = channel
        let (quotient, remainder) = timeMs.quotientAndRemainder(dividingBy: Self.dayMs)
        self.day = remainder < 0 ? quotient - 1 : quotient
    }

    var startMs: Int64 { day * Self.dayMs }
    var endMs: Int64 { startMs + Self.dayMs }

    static func < (a: ChannelDay, b: ChannelDay) -> Bool { (a.channel, a.day) < (b.channel, b.day) }
}

/// Samples gathered for one channel-day, in the order they were stored (the later wins).
struct SampleColumns {
    var timesMs: [Int64] = []
    var values: [Double] = []
    var qualities: [UInt32] = []

    mutating func append(timeMs: Int64, value: Double, quality: UInt32) {
        timesMs.append(timeMs)
        values.append(value)
        qualities.append(quality)
    }

    mutating func append(_ series: ChannelSeries) {
        timesMs.append(contentsOf: series.timesMs)
        values.append(contentsOf: series.values)
        qualities.append(contentsOf: series.qualities)
    }

    mutating func append(_ series: ChannelSeries, indices: [Int]) {
        for index in indices {
            append(timeMs: series.timesMs[index], value: series.values[index], quality: series.qualities[index])
        }
    }

    mutating func append(contentsOf other: SampleColumns) {
        timesMs.append(contentsOf: other.timesMs)
        values.append(contentsOf: other.values)
        qualities.append(contentsOf: other.qualities)
    }
}
