/// The rollup buckets of one channel and level over one chunk of time (a UTC day of 15-minute or
/// hourly buckets, or one local day): `(bucket start, summary)` in increasing start order, only
/// buckets that hold samples. Encoded as the plaintext of one sealed `rollups` row.
///
/// Format (version 2): `0x02 | bucket count n (varint)`, then n-entry columns in the block
/// format's codecs (telemetry.md): `IntegerColumn` of bucket start − chunk start, of counts;
/// `ValueColumn` of sums, minima, maxima; for the first and then the last reading an
/// `IntegerColumn` of time − bucket start, a `ValueColumn` of values, an `IntegerColumn` of
/// qualities; the counter parts as four `ValueColumn`s (rises, flagged restarts, drop deltas, drop
/// restarts) and two `IntegerColumn`s (flagged resets, drops). Meter values are decimals, so the
/// columns pack a bucket into a few bytes a field where raw doubles take eight.
public struct SummaryChunk: Sendable, Equatable {
    public static let version: UInt8 = 0x02
    /// More buckets than any level has in a chunk (96 quarter hours of a 25-hour day is 100).
    public static let maxBuckets = 128

    public let startMs: Int64
    public private(set) var buckets: [(startMs: Int64, summary: SampleSummary)]

    public init(startMs: Int64, buckets: [(startMs: Int64, summary: SampleSummary)] = []) {
        self.startMs = startMs
        self.buckets = buckets.sorted { $0.startMs < $1.startMs }
    }

    /// Sets (or with nil removes) the summary of the bucket starting at `bucketStartMs`.
    public mutating func set(_ bucketStartMs: Int64, _ summary: SampleSummary?) {
        let index = buckets.firstIndex { $0.startMs >= bucketStartMs } ?? buckets.endIndex
        let exists = index < buckets.endIndex && buckets[index].startMs == bucketStartMs
        switch (summary, exists) {
        case (let summary?, true): buckets[index].summary = summary
        case (let summary?, false): buckets.insert((bucketStartMs, summary), at: index)
        case (nil, true): buckets.remove(at: index)
        case (nil, false): break
        }
    }

    public func summary(at bucketStartMs: Int64) -> SampleSummary? {
        buckets.first { $0.startMs == bucketStartMs }?.summary
    }

    public static func == (a: SummaryChunk, b: SummaryChunk) -> Bool {
        a.startMs == b.startMs && a.buckets.count == b.buckets.count
            && zip(a.buckets, b.buckets).allSatisfy { $0.startMs == $1.startMs && $0.summary == $1.summary }
    }

    public func encode() -> [UInt8] {
        var writer = ByteWriter(capacity: 16 + buckets.count * 16)
        writer.byte(Self.version)
        writer.varint(UInt64(buckets.count))
        let summaries = buckets.map(\.summary)
        func integers(_ values: [Int64]) { IntegerColumn.encode(values, into: &writer) }
        func doubles(_ values: [Double]) { ValueColumn.encode(values, into: &writer) }
        integers(buckets.map { $0.startMs - startMs })
        integers(summaries.map { Int64(bitPattern: $0.count) })
        doubles(summaries.map(\.sum))
        doubles(summaries.map(\.min))
        doubles(summaries.map(\.max))
        for reading in [\SampleSummary.first, \SampleSummary.last] {
            integers(buckets.map { $0.summary[keyPath: reading].timeMs - $0.startMs })
            doubles(summaries.map { $0[keyPath: reading].value })
            integers(summaries.map { Int64($0[keyPath: reading].quality) })
        }
        for part in [\CounterIncrease.rises, \CounterIncrease.flaggedRestarts, \CounterIncrease.dropDelta, \CounterIncrease.dropRestarts] {
            doubles(summaries.map { $0.counter[keyPath: part] })
        }
        integers(summaries.map { Int64($0.counter.flaggedResets) })
        integers(summaries.map { Int64($0.counter.drops) })
        return writer.bytes
    }

    /// Decodes what `encode` wrote for the chunk starting at `startMs`; any other input is
    /// `.malformed` (never a trap): buckets must increase, each reading must lie in order.
    public static func decode(_ bytes: [UInt8], startMs: Int64) throws -> SummaryChunk {
        var reader = ByteReader(bytes)
        let version = try reader.byte("version")
        guard version == Self.version else {
            throw TelemetryBlockError(.unsupportedVersion, "summary chunk version \(version) is not \(Self.version)")
        }
        let n = try reader.count("bucket count", atMost: maxBuckets)
        let span: ClosedRange<Int64> = 0...(2 * 86_400_000)
        func integers(_ what: String, _ range: ClosedRange<Int64>) throws -> [Int64] {
            let values = try IntegerColumn.decode(n, from: &reader, what)
            guard values.allSatisfy(range.contains) else { throw TelemetryBlockError.malformed("\(what) outside \(range)") }
            return values
        }
        func doubles() throws -> [Double] { try ValueColumn.decode(n, from: &reader) }
        let offsets = try integers("bucket start", span)
        let counts = try integers("count", 1...Int64.max)
        let (sums, minima, maxima) = (try doubles(), try doubles(), try doubles())
        var readings: [[Reading]] = []
        for what in ["first", "last"] {
            let times = try integers("\(what) time", span)
            let values = try doubles()
            let qualities = try integers("\(what) quality", 0...Int64(UInt32.max))
            readings.append((0..<n).map { Reading(timeMs: startMs + offsets[$0] + times[$0], value: values[$0], quality: UInt32(qualities[$0])) })
        }
        let parts = try (0..<4).map { _ in try doubles() }
        let resets = try integers("flagged resets", 0...Int64(UInt32.max)), drops = try integers("drops", 0...Int64(UInt32.max))
        guard reader.isAtEnd else { throw TelemetryBlockError.malformed("\(reader.remaining) bytes after the last column") }
        var buckets: [(startMs: Int64, summary: SampleSummary)] = []
        buckets.reserveCapacity(n)
        for index in 0..<n {
            guard index == 0 || offsets[index] > offsets[index - 1] else {
                throw TelemetryBlockError.malformed("bucket \(index) does not start after the previous one")
            }
            let (first, last) = (readings[0][index], readings[1][index])
            guard first.timeMs <= last.timeMs, (first.timeMs == last.timeMs) == (counts[index] == 1) else {
                throw TelemetryBlockError.malformed("bucket \(index): first and last readings out of order")
            }
            let counter = CounterIncrease(
                rises: parts[0][index], flaggedRestarts: parts[1][index], flaggedResets: UInt32(resets[index]),
                drops: UInt32(drops[index]), dropDelta: parts[2][index], dropRestarts: parts[3][index])
            let summary = SampleSummary(
                count: UInt64(counts[index]), sum: sums[index], min: minima[index], max: maxima[index], first: first, last: last, counter: counter)
            buckets.append((startMs + offsets[index], summary))
        }
        return SummaryChunk(startMs: startMs, buckets: buckets)
    }
}
