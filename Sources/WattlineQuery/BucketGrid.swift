import WattlineIngest
import WattlineProtos
import WattlineWire

/// The buckets of an aggregate or energy query: their starts, clipped to the range (a bucket
/// partly outside it covers only the part inside), and which rollup level can answer them.
struct BucketGrid {
    /// Most buckets one query may ask for per channel.
    static let maxBuckets = 100_000

    enum Cut {
        case fixed(Int64)
        case calendar(LocalCalendar.Unit, LocalCalendar)
    }

    let cut: Cut
    /// Increasing; the first is the range start.
    let starts: [Int64]
    /// The range end (exclusive).
    let endMs: Int64

    init(range: TelemetryV1.TimeRange, bucketing: TelemetryV1.Bucketing?, siteZone: String) throws {
        let (from, to) = (range.startMs, range.endMs)
        guard let bucketing else { throw CallFailure.invalidArgument("bucketing is required") }
        switch bucketing.kind {
        case .intervalMs(let interval)?:
            guard interval >= 1_000 else { throw CallFailure.invalidArgument("bucketing.interval_ms must be at least 1000") }
            let first = RollupLevel.floor(from, interval)
            guard (to - first) / interval < Int64(Self.maxBuckets) else { throw Self.tooMany }
            cut = .fixed(interval)
            starts = [from] + Array(stride(from: first + interval, to: to, by: Int(interval)))
        case .calendar(let unit)?:
            let zoneName = bucketing.timeZone.isEmpty ? siteZone : bucketing.timeZone
            guard zoneName.utf8.count <= 64, let calendar = LocalCalendar(zone: zoneName) else {
                throw CallFailure.invalidArgument("bucketing.time_zone \"\(zoneName.prefix(64))\" is not an IANA time zone")
            }
            let local: LocalCalendar.Unit
            switch unit {
            case .hour: local = .hour
            case .day: local = .day
            case .week: local = .week
            case .month: local = .month
            default: throw CallFailure.invalidArgument("bucketing.calendar must be HOUR, DAY, WEEK or MONTH")
            }
            guard local != .hour || (to - from) / 3_600_000 < Int64(Self.maxBuckets) else { throw Self.tooMany }
            cut = .calendar(local, calendar)
            var starts = calendar.starts(local, from: from, to: to)
            starts[0] = from
            self.starts = starts
        case nil:
            throw CallFailure.invalidArgument("bucketing must set interval_ms or calendar")
        }
        endMs = to
    }

    static let tooMany = CallFailure.invalidArgument("the range holds more than \(maxBuckets) buckets; narrow it or use larger buckets")

    /// The bucket holding `timeMs`, if it lies in the range.
    func index(of timeMs: Int64) -> Int? {
        guard timeMs >= starts[0], timeMs < endMs else { return nil }
        var (low, high) = (0, starts.count - 1)
        while low < high {
            let middle = (low + high + 1) / 2
            if starts[middle] <= timeMs { low = middle } else { high = middle - 1 }
        }
        return low
    }

    /// The rollup levels, coarsest first, whose buckets nest in these buckets (every inner
    /// boundary is one of theirs): local days only in the site's own zone.
    func levels(siteZone: String) -> [RollupLevel] {
        let inner = starts.dropFirst()
        var levels: [RollupLevel] = []
        if case .calendar(let unit, let calendar) = cut, unit != .hour, calendar.identifier == siteZone,
           inner.allSatisfy({ $0 % 900_000 == 0 }) {
            levels.append(.day)
        }
        if inner.allSatisfy({ $0 % 3_600_000 == 0 }) { levels.append(.hour) }
        if inner.allSatisfy({ $0 % 900_000 == 0 }) { levels.append(.quarterHour) }
        return levels
    }
}
