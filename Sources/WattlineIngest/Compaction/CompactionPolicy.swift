import WattlineTelemetry

/// When the compactor moves stored batches into blocks, and which blocks it merges.
///
/// Each pass appends, per channel and UTC day it touches, one block of the new samples. Blocks of
/// a channel-day are merged size-tiered: when the newest `fanIn` blocks are of the same size tier
/// (tier = ⌊log_fanIn(samples / `tierBase`)⌋), they become one, and so on up the tiers. A sample is
/// so re-encoded about log_fanIn(day's samples / tierBase) times, never once per pass, and a
/// channel-day has at most (fanIn − 1) blocks per tier. A day that ended `dayGrace` ago and has
/// more than `closedDayBlocks` blocks is merged into one (or as few as
/// `ChannelSeries.maxSampleCount` allows): not at every pass, or a backfill of old days (every
/// day closed) would rewrite each whole day at each pass. Merges only ever take a run of the
/// newest blocks, so block order (later wins on equal times) is kept.
public struct CompactionPolicy: Sendable {
    /// Batches younger than this stay in `ingest_batches` (so a pass sees more samples per channel).
    public var minimumAge: Duration = .seconds(30)
    /// Time between passes when the previous one found nothing more to do.
    public var interval: Duration = .seconds(10)
    /// Most batches one transaction moves (bounds its memory and its locks).
    public var batchesPerTransaction = 1_000
    /// The share of wall time compaction may keep working: after a transaction that took d it
    /// pauses d × (1 / share − 1), so a backlog after a burst never takes the CPU that
    /// acknowledging new batches needs; the backlog waits in `ingest_batches` meanwhile.
    public var busyShare = 0.25
    public var fanIn = 4
    public var tierBase = 64
    public var dayGraceMs: Int64 = 2 * 3_600_000
    public var closedDayBlocks = 4

    public init() {}

    /// The index from which the blocks (sample counts, oldest first; the last may be the pass's
    /// new samples) are to be merged into one, or nil to leave them.
    func mergeStart(_ counts: [Int], dayClosed: Bool) -> Int? {
        let total = counts.reduce(0, +)
        if dayClosed, counts.count > closedDayBlocks, total <= ChannelSeries.maxSampleCount { return 0 }
        // A stack of (first original index, samples); only its top can be a merged entry.
        var stack = counts.enumerated().map { (start: $0.offset, samples: $0.element) }
        while stack.count >= fanIn {
            let run = stack.suffix(fanIn)
            let tier = self.tier(run.first!.samples)
            let samples = run.reduce(0) { $0 + $1.samples }
            guard run.allSatisfy({ self.tier($0.samples) == tier }), samples <= ChannelSeries.maxSampleCount else { break }
            let start = run.first!.start
            stack.removeLast(fanIn)
            stack.append((start, samples))
        }
        guard let top = stack.last, top.start < counts.count - 1 else { return nil }
        return top.start
    }

    func tier(_ samples: Int) -> Int {
        var tier = 0
        var bound = tierBase
        while samples >= bound, bound <= Int.max / fanIn {
            tier += 1
            bound *= fanIn
        }
        return tier
    }
}
