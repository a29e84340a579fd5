import Foundation

/// Calendar arithmetic in an IANA time zone, in ms since the epoch: where local hours, days, ISO
/// weeks (Monday first) and months begin, daylight-saving transitions included (a local day is
/// 23, 24 or 25 hours long; a day whose midnight does not exist starts at its first instant).
public struct LocalCalendar: Sendable {
    public enum Unit: Sendable {
        case hour, day, week, month
    }

    public let zone: TimeZone
    private let calendar: Calendar

    /// Nil for a zone the system's tz database does not know.
    public init?(zone identifier: String) {
        guard let zone = TimeZone(identifier: identifier) else { return nil }
        self.zone = zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        calendar.firstWeekday = 2  // ISO 8601: weeks start on Monday
        calendar.minimumDaysInFirstWeek = 4
        self.calendar = calendar
    }

    public var identifier: String { zone.identifier }

    /// The start of the `unit` holding `timeMs`.
    public func start(of unit: Unit, containing timeMs: Int64) -> Int64 {
        interval(unit, containing: timeMs).map { Self.ms($0.start) } ?? timeMs
    }

    /// The start of the `unit` after the one starting at `startMs` (always later).
    public func next(_ unit: Unit, after startMs: Int64) -> Int64 {
        let end = interval(unit, containing: startMs).map { Self.ms($0.end) } ?? startMs
        return end > startMs ? end : startMs + 3_600_000
    }

    private func interval(_ unit: Unit, containing timeMs: Int64) -> DateInterval? {
        let component: Calendar.Component = switch unit {
        case .hour: .hour
        case .day: .day
        case .week: .weekOfYear
        case .month: .month
        }
        return calendar.dateInterval(of: component, for: Self.date(timeMs))
    }

    /// The starts of the `unit`s overlapping [fromMs, toMs): the first at or before `fromMs`.
    public func starts(_ unit: Unit, from fromMs: Int64, to toMs: Int64) -> [Int64] {
        var starts = [start(of: unit, containing: fromMs)]
        if unit == .hour { return hourStarts(after: starts[0], to: toMs) }
        while true {
            let next = next(unit, after: starts[starts.count - 1])
            guard next < toMs else { return starts }
            starts.append(next)
        }
    }

    /// Local hours by arithmetic between offset changes (a year of hours through `Calendar` costs
    /// tens of milliseconds): under an offset, local hours start where `t + offset` is a whole hour.
    private func hourStarts(after firstStart: Int64, to toMs: Int64) -> [Int64] {
        var starts = [firstStart]
        var cursor = firstStart + 1
        while cursor < toMs {
            let offsetMs = Int64(zone.secondsFromGMT(for: Self.date(cursor))) * 1_000
            let change = zone.nextDaylightSavingTimeTransition(after: Self.date(cursor)).map(Self.ms) ?? Int64.max
            let segmentEnd = min(change, toMs)
            var hour = RollupLevel.floor(cursor - 1 + offsetMs, 3_600_000) + 3_600_000 - offsetMs
            while hour < segmentEnd {
                starts.append(hour)
                hour += 3_600_000
            }
            cursor = segmentEnd
        }
        return starts
    }

    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1_000) }
    static func ms(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1_000).rounded()) }
}
