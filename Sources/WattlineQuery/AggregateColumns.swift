import WattlineProtos
import WattlineTelemetry

/// Bucket summaries as `ReadAggregatesResponse` columns: only the requested functions, only the
/// buckets that hold samples, at most `perMessage` buckets a message.
enum AggregateColumns {
    static func messages(
        channel: UInt64, grid: BucketGrid, _ summaries: [SampleSummary?], functions: UInt32, perMessage: Int
    ) -> [TelemetryV1.ReadAggregatesResponse] {
        let filled = summaries.indices.filter { summaries[$0] != nil }
        guard !filled.isEmpty else { return [] }
        return stride(from: 0, to: filled.count, by: perMessage).map { offset in
            let part = filled[offset..<min(filled.count, offset + perMessage)]
            let buckets = part.map { summaries[$0]! }
            func column<T>(_ flag: UInt32, _ value: (SampleSummary) -> T) -> [T] { functions & flag != 0 ? buckets.map(value) : [] }
            return .with {
                $0.channelID = channel
                $0.bucketStartMs = part.map { grid.starts[$0] }
                $0.mins = column(1, \.min)
                $0.maxs = column(2, \.max)
                $0.avgs = column(4, \.mean)
                $0.sums = column(8, \.sum)
                $0.counts = column(16, \.count)
                $0.firsts = column(32, \.first.value)
                $0.lasts = column(64, \.last.value)
            }
        }
    }
}
