import WattlineTelemetry

/// Sums time-ordered pieces into the query's buckets.
enum Folds {
    /// Each bucket's summary (nil: no finite sample in it).
    static func aggregates(_ pieces: [SummaryPieces.Piece], grid: BucketGrid) -> [SampleSummary?] {
        var builders = [SummaryBuilder](repeating: SummaryBuilder(), count: grid.starts.count)
        for piece in pieces {
            guard let bucket = grid.index(of: piece.timeMs) else { continue }
            builders[bucket].add(piece.summary)
        }
        return builders.map(\.summary)
    }

    /// Each bucket's counter increase. The rise between consecutive readings belongs to the bucket
    /// of the later reading's interval end: a reading exactly on a boundary closes the bucket
    /// before it, so with readings on the hour, a day's consumption is the reading at the next
    /// midnight minus the reading at this one. Rises from before the range count nowhere.
    static func energy(_ pieces: [SummaryPieces.Piece], grid: BucketGrid) -> [CounterIncrease] {
        var increases = [CounterIncrease](repeating: CounterIncrease(), count: grid.starts.count)
        var previous: Reading?
        for piece in pieces {
            let summary = piece.summary
            if let previous, let bucket = grid.index(of: summary.first.timeMs - 1) {
                increases[bucket] = increases[bucket] + CounterIncrease(from: previous, to: summary.first)
            }
            if let bucket = grid.index(of: piece.timeMs) {
                // Within a piece every rise ends after the piece's first reading, in the piece's bucket.
                increases[bucket] = increases[bucket] + summary.counter
            }
            previous = summary.last
        }
        return increases
    }
}
