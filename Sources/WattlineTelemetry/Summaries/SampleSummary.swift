/// One sample, as summaries keep their first and last.
public struct Reading: Sendable, Equatable {
    public var timeMs: Int64
    public var value: Double
    public var quality: UInt32

    public init(timeMs: Int64, value: Double, quality: UInt32 = 0) {
        (self.timeMs, self.value, self.quality) = (timeMs, value, quality)
    }

    /// Non-finite values (flagged `QUALITY_FLAG_SERVER_FLAGGED` at ingest) take part in no
    /// aggregate and no energy: they would turn every sum, mean and consumption into NaN.
    public var isAggregated: Bool { value.isFinite }
}

/// The aggregates of a run of samples in time order (the finite ones): count, sum, extremes, the
/// first and last reading, and the counter increase within the run. Summaries of adjacent runs
/// merge (`followed(by:)`) into the summary of the whole, which is what lets a query add up
/// rollup buckets and raw samples alike, and what keeps rollups current by appending.
public struct SampleSummary: Sendable, Equatable {
    public private(set) var count: UInt64
    public private(set) var sum: Double
    public private(set) var min: Double
    public private(set) var max: Double
    public private(set) var first: Reading
    public private(set) var last: Reading
    /// Increase of a cumulative counter between consecutive readings of the run.
    public private(set) var counter: CounterIncrease

    public var mean: Double { sum / Double(count) }

    /// The summary of one finite reading.
    public init(_ reading: Reading) {
        precondition(reading.isAggregated, "summaries cover finite values only")
        (count, sum, min, max) = (1, reading.value, reading.value, reading.value)
        (first, last, counter) = (reading, reading, CounterIncrease())
    }

    init(count: UInt64, sum: Double, min: Double, max: Double, first: Reading, last: Reading, counter: CounterIncrease) {
        (self.count, self.sum, self.min, self.max) = (count, sum, min, max)
        (self.first, self.last, self.counter) = (first, last, counter)
    }

    /// This run followed by `next`, which starts after it ends.
    public func followed(by next: SampleSummary) -> SampleSummary {
        precondition(next.first.timeMs > last.timeMs, "summaries merge in time order")
        return SampleSummary(
            count: count + next.count, sum: sum + next.sum, min: Swift.min(min, next.min), max: Swift.max(max, next.max),
            first: first, last: next.last, counter: counter + CounterIncrease(from: last, to: next.first) + next.counter)
    }

    /// Appends one later reading (`followed(by: SampleSummary(reading))` without the detour).
    public mutating func append(_ reading: Reading) {
        precondition(reading.timeMs > last.timeMs && reading.isAggregated)
        counter = counter + CounterIncrease(from: last, to: reading)
        count += 1
        sum += reading.value
        min = Swift.min(min, reading.value)
        max = Swift.max(max, reading.value)
        last = reading
    }
}

/// Builds summaries from samples in time order, skipping non-finite values.
public struct SummaryBuilder: Sendable {
    public private(set) var summary: SampleSummary?

    public init() {}

    public mutating func add(_ reading: Reading) {
        guard reading.isAggregated else { return }
        if summary == nil { summary = SampleSummary(reading) } else { summary!.append(reading) }
    }

    public mutating func add(_ next: SampleSummary) {
        summary = summary.map { $0.followed(by: next) } ?? next
    }
}
