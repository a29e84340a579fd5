/// How much a cumulative counter (an energy register) rose between consecutive readings, kept in
/// parts that do not depend on the channel's rollover value, so that a rollover value corrected
/// later applies to rollups already stored.
///
/// Between two readings `a` then `b`:
/// - `b` flagged `QUALITY_FLAG_COUNTER_RESET`: the counter restarted from zero; it rose by `b`.
/// - `b ≥ a`: it rose by `b − a`.
/// - `b < a`, unflagged: it wrapped at the rollover value R (`R − a + b`) when R is known, else it
///   was reset (`b`). Both count as one reset.
public struct CounterIncrease: Sendable, Equatable {
    /// Sum of the rises `b − a ≥ 0`.
    public internal(set) var rises: Double = 0
    /// Sum of the readings right after a flagged reset, and how many there were.
    public internal(set) var flaggedRestarts: Double = 0
    public internal(set) var flaggedResets: UInt32 = 0
    /// Unflagged decreases: how many, the sum of `b − a` (negative), and the sum of `b`.
    public internal(set) var drops: UInt32 = 0
    public internal(set) var dropDelta: Double = 0
    public internal(set) var dropRestarts: Double = 0

    public init() {}

    init(rises: Double, flaggedRestarts: Double, flaggedResets: UInt32, drops: UInt32, dropDelta: Double, dropRestarts: Double) {
        (self.rises, self.flaggedRestarts, self.flaggedResets) = (rises, flaggedRestarts, flaggedResets)
        (self.drops, self.dropDelta, self.dropRestarts) = (drops, dropDelta, dropRestarts)
    }

    /// The step from reading `a` to the next reading `b`.
    public init(from a: Reading, to b: Reading) {
        if b.quality & Self.counterResetFlag != 0 {
            (flaggedRestarts, flaggedResets) = (b.value, 1)
        } else if b.value >= a.value {
            rises = b.value - a.value
        } else {
            (drops, dropDelta, dropRestarts) = (1, b.value - a.value, b.value)
        }
    }

    /// `QUALITY_FLAG_COUNTER_RESET`.
    public static let counterResetFlag: UInt32 = 4

    /// Resets and rollovers.
    public var resets: UInt32 { flaggedResets + drops }

    /// The consumption, for a counter that wraps at `rolloverValue` (0: not known, a decrease is a reset).
    public func consumption(rolloverValue: Double) -> Double {
        let unflagged = rolloverValue > 0 ? Double(drops) * rolloverValue + dropDelta : dropRestarts
        return rises + flaggedRestarts + unflagged
    }

    public static func + (a: CounterIncrease, b: CounterIncrease) -> CounterIncrease {
        CounterIncrease(
            rises: a.rises + b.rises, flaggedRestarts: a.flaggedRestarts + b.flaggedRestarts,
            flaggedResets: a.flaggedResets + b.flaggedResets, drops: a.drops + b.drops,
            dropDelta: a.dropDelta + b.dropDelta, dropRestarts: a.dropRestarts + b.dropRestarts)
    }
}
