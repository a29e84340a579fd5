/// The rollup buckets of one channel and level over one chunk of time (a UTC day of 15-minute or
/// hourly buckets, or one local day): `(bucket start, summary)` in increasing start order, only
/// buckets that hold samples. Encoded as the plaintext of one sealed `rollups` row.
///
/// Format (version 1): `0x01 | bucket count (varint)` then per bucket
/// `start − previous start, ms (varint; the first from the chunk start) | count (varint) |
/// sum | min | max (f64 LE) | first: time − start (varint), value (f64), quality (varint) |
/// last: the same | counter parts flag (byte) | the non-zero counter parts`.
public struct SummaryChunk: Sendable, Equatable {
    public static let version: UInt8 = 0x01
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
        var writer = ByteWriter(capacity: 8 + buckets.count * 64)
        writer.byte(Self.version)
        writer.varint(UInt64(buckets.count))
        var previous = startMs
        for (start, summary) in buckets {
            writer.varint(UInt64(start - previous))
            previous = start
            writer.varint(summary.count)
            for value in [summary.sum, summary.min, summary.max] { writer.double(value) }
            for reading in [summary.first, summary.last] {
                writer.varint(UInt64(reading.timeMs - start))
                writer.double(reading.value)
                writer.varint(UInt64(reading.quality))
            }
            let counter = summary.counter
            let parts = [counter.rises, counter.flaggedRestarts, counter.dropDelta, counter.dropRestarts]
            let counts = [counter.flaggedResets, counter.drops]
            var flags: UInt8 = 0
            for (bit, part) in parts.enumerated() where part.bitPattern != 0 { flags |= 1 << bit }
            for (bit, part) in counts.enumerated() where part != 0 { flags |= 1 << (bit + 4) }
            writer.byte(flags)
            for (bit, part) in parts.enumerated() where flags & (1 << bit) != 0 { writer.double(part) }
            for (bit, part) in counts.enumerated() where flags & (1 << (bit + 4)) != 0 { writer.varint(UInt64(part)) }
        }
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
        let count = try reader.count("bucket count", atMost: maxBuckets)
        var buckets: [(startMs: Int64, summary: SampleSummary)] = []
        buckets.reserveCapacity(count)
        var previous = startMs
        for index in 0..<count {
            let step = try reader.count("bucket \(index) start", atMost: 86_400_000 * 2)
            guard index == 0 || step > 0 else { throw TelemetryBlockError.malformed("bucket \(index) does not start after the previous one") }
            let start = previous + Int64(step)
            previous = start
            let samples = try reader.varint("bucket \(index) count")
            guard samples > 0 else { throw TelemetryBlockError.malformed("bucket \(index) is empty") }
            let (sum, min, max) = (try reader.double("sum"), try reader.double("min"), try reader.double("max"))
            func reading(_ what: String) throws -> Reading {
                let offset = try reader.count("\(what) time", atMost: 86_400_000 * 2)
                let value = try reader.double("\(what) value")
                let quality = try reader.count("\(what) quality", atMost: Int(UInt32.max))
                return Reading(timeMs: start + Int64(offset), value: value, quality: UInt32(quality))
            }
            let (first, last) = (try reading("first"), try reading("last"))
            guard first.timeMs <= last.timeMs, (first.timeMs == last.timeMs) == (samples == 1) else {
                throw TelemetryBlockError.malformed("bucket \(index): first and last readings out of order")
            }
            let flags = try reader.byte("counter flags")
            guard flags & 0b1100_0000 == 0 else { throw TelemetryBlockError.malformed("bucket \(index): unknown counter flags") }
            var parts = [Double](repeating: 0, count: 4)
            for bit in 0..<4 where flags & (1 << bit) != 0 { parts[bit] = try reader.double("counter part") }
            var counts = [UInt32](repeating: 0, count: 2)
            for bit in 0..<2 where flags & (1 << (bit + 4)) != 0 {
                counts[bit] = UInt32(try reader.count("counter resets", atMost: Int(UInt32.max)))
            }
            let counter = CounterIncrease(
                rises: parts[0], flaggedRestarts: parts[1], flaggedResets: counts[0], drops: counts[1],
                dropDelta: parts[2], dropRestarts: parts[3])
            buckets.append((start, SampleSummary(count: samples, sum: sum, min: min, max: max, first: first, last: last, counter: counter)))
        }
        guard reader.isAtEnd else { throw TelemetryBlockError.malformed("\(reader.remaining) bytes after the last bucket") }
        return SummaryChunk(startMs: startMs, buckets: buckets)
    }
}

extension ByteWriter {
    mutating func double(_ value: Double) {
        withUnsafeBytes(of: value.bitPattern.littleEndian) { append(Array($0)) }
    }
}

extension ByteReader {
    mutating func double(_ what: @autoclosure () -> String) throws -> Double {
        guard remaining >= 8 else { throw TelemetryBlockError.malformed("truncated before \(what())") }
        var pattern: UInt64 = 0
        for shift in stride(from: 0, to: 64, by: 8) { pattern |= UInt64(try byte(what())) << UInt64(shift) }
        return Double(bitPattern: pattern)
    }
}
