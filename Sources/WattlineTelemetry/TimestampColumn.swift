/// Times of a block. The first and last come from the `BlockSummary` (bound by sealing), so one
/// sample costs nothing here. For two or more:
///
///     varint interval (ms; 0 = no grid)
///     interval 0: IntegerColumn of t[i] − first, i = 1..<n (usually delta-of-delta)
///     interval I: SparseColumn (default 1) of grid steps s[i], then IntegerColumn of residuals r[i], i = 1..<n,
///                 where g[0] = first, g[i] = g[i-1] + s[i]·I (s[i] = nearest whole number of
///                 intervals from g[i-1] to t[i]) and t[i] = g[i] + r[i]
///
/// Loggers poll on a fixed period with jitter: the grid keeps its origin, so each residual is
/// just that poll's jitter (0...40 ms → 5.4 bits), not the difference of two jitters as with
/// delta-of-delta (~6.3 bits); steps are 1 except after an outage, a few bytes per outage.
/// The encoder tries no grid and a few intervals around the median gap and keeps the smallest.
enum TimestampColumn {
    static func encode(_ times: [Int64], into writer: inout ByteWriter) {
        guard times.count > 1 else { return }
        var best: ByteWriter?
        for interval in candidateIntervals(times) {
            var candidate = ByteWriter()
            encode(times, interval: interval, into: &candidate)
            if best == nil || candidate.bytes.count < best!.bytes.count { best = candidate }
        }
        writer.append(best!.bytes)
    }

    static func decode(_ summary: BlockSummary, from reader: inout ByteReader) throws -> [Int64] {
        let count = summary.sampleCount
        guard count > 1 else { return [summary.firstMs] }
        let interval = try reader.varint("timestamp interval")
        guard interval <= UInt64(Int64.max) else { throw TelemetryBlockError.malformed("timestamp interval \(interval) exceeds Int64") }
        var times: [Int64] = []
        times.reserveCapacity(count)
        times.append(summary.firstMs)
        if interval == 0 {
            for offset in try IntegerColumn.decode(count - 1, from: &reader, "timestamp") { times.append(summary.firstMs &+ offset) }
        } else {
            let steps = try SparseColumn.decode(count - 1, default: 1, from: &reader, "timestamp step")
            let residuals = try IntegerColumn.decode(count - 1, from: &reader, "timestamp residual")
            var grid = summary.firstMs
            for index in 0..<(count - 1) {
                grid = grid &+ steps[index] &* Int64(interval)
                times.append(grid &+ residuals[index])
            }
        }
        for index in 1..<count where times[index] <= times[index - 1] {
            throw TelemetryBlockError.malformed("times do not increase at sample \(index)")
        }
        guard times[count - 1] == summary.lastMs else {
            throw TelemetryBlockError.malformed("last time differs from the block summary")
        }
        return times
    }

    private static func encode(_ times: [Int64], interval: Int64, into writer: inout ByteWriter) {
        writer.varint(UInt64(interval))
        let first = times[0]
        guard interval > 0 else {
            IntegerColumn.encode(times.dropFirst().map { $0 &- first }, into: &writer)
            return
        }
        var steps: [Int64] = [], residuals: [Int64] = []
        steps.reserveCapacity(times.count - 1)
        residuals.reserveCapacity(times.count - 1)
        var grid = first
        for time in times.dropFirst() {
            let step = nearestMultiple(time &- grid, of: interval)
            grid = grid &+ step &* interval
            steps.append(step)
            residuals.append(time &- grid)
        }
        SparseColumn.encode(steps, default: 1, into: &writer)
        IntegerColumn.encode(residuals, into: &writer)
    }

    /// 0 (no grid), the median gap and that gap rounded to 10 ms, 100 ms and 1 s.
    private static func candidateIntervals(_ times: [Int64]) -> [Int64] {
        // The median of at most 255 evenly spread gaps: enough to find the polling period.
        let stride = max(1, (times.count - 1) / 255)
        var gaps: [Int64] = []
        for index in Swift.stride(from: 1, to: times.count, by: stride) { gaps.append(times[index] &- times[index - 1]) }
        gaps.sort()
        let median = gaps[gaps.count / 2]
        var candidates: [Int64] = [0]
        guard median > 0 else { return candidates }  // gaps wrapped around: no grid
        for unit: Int64 in [1, 10, 100, 1000] {
            let rounded = nearestMultiple(median, of: unit) &* unit
            if rounded > 0, !candidates.contains(rounded) { candidates.append(rounded) }
        }
        return candidates
    }

    /// The whole number of `unit`s nearest to `value` (unit > 0), without overflow traps.
    private static func nearestMultiple(_ value: Int64, of unit: Int64) -> Int64 {
        let (quotient, remainder) = value.quotientAndRemainder(dividingBy: unit)
        if remainder > 0, remainder >= unit - remainder { return quotient &+ 1 }
        if remainder < 0, -remainder > unit + remainder { return quotient &- 1 }
        return quotient
    }
}
