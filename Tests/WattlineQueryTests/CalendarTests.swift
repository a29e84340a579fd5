import Testing
import WattlineIngest
import WattlineProtos
@testable import WattlineQuery

@Suite("Local calendars and bucket grids across daylight-saving changes")
struct CalendarTests {
    /// 2026-10-25 00:00 and 2026-03-29 00:00 in Europe/Zurich (UTC+2 before, UTC+1 after; and back).
    static let autumnMidnight: Int64 = 1_792_879_200_000
    static let springMidnight: Int64 = 1_774_738_800_000

    @Test("a Zurich day is 25 hours in October and 23 in March; its hours follow the clock")
    func zurich() throws {
        let zurich = try #require(LocalCalendar(zone: "Europe/Zurich"))
        #expect(zurich.next(.day, after: Self.autumnMidnight) - Self.autumnMidnight == 25 * 3_600_000)
        #expect(zurich.next(.day, after: Self.springMidnight) - Self.springMidnight == 23 * 3_600_000)
        let autumnHours = zurich.starts(.hour, from: Self.autumnMidnight, to: Self.autumnMidnight + 25 * 3_600_000)
        #expect(autumnHours == (0..<25).map { Self.autumnMidnight + Int64($0) * 3_600_000 })
        #expect(zurich.starts(.hour, from: Self.springMidnight, to: Self.springMidnight + 23 * 3_600_000).count == 23)
        #expect(zurich.start(of: .day, containing: Self.autumnMidnight + 24 * 3_600_000 + 59_000) == Self.autumnMidnight)
        // ISO weeks start on Monday: 2026-10-25 is a Sunday, its week began on the 19th (UTC+2).
        #expect(zurich.start(of: .week, containing: Self.autumnMidnight) == Self.autumnMidnight - 6 * 86_400_000)
    }

    @Test("half-hour zones: Kolkata's hours start at half past UTC hours, so only quarter-hour rollups nest")
    func kolkata() throws {
        let kolkata = try #require(LocalCalendar(zone: "Asia/Kolkata"))
        let hours = kolkata.starts(.hour, from: 1_800, to: 4 * 3_600_000)
        #expect(hours.dropFirst().allSatisfy { $0 % 3_600_000 == 1_800_000 })
        let grid = try BucketGrid(
            range: .with { $0.startMs = 0; $0.endMs = 2 * 86_400_000 },
            bucketing: .with { $0.kind = .calendar(.hour); $0.timeZone = "Asia/Kolkata" }, siteZone: "Europe/Zurich")
        #expect(grid.levels(siteZone: "Europe/Zurich") == [.quarterHour])
        let zurichDays = try BucketGrid(
            range: .with { $0.startMs = 0; $0.endMs = 40 * 86_400_000 }, bucketing: .with { $0.kind = .calendar(.month) },
            siteZone: "Europe/Zurich")
        #expect(zurichDays.levels(siteZone: "Europe/Zurich") == [.day, .hour, .quarterHour])
        #expect(zurichDays.starts == [0, 2_674_800_000])  // 1970-02-01 00:00 in Zurich (UTC+1)
        let odd = try BucketGrid(range: .with { $0.startMs = 0; $0.endMs = 86_400_000 }, bucketing: .with { $0.kind = .intervalMs(420_000) }, siteZone: "UTC")
        #expect(odd.levels(siteZone: "UTC").isEmpty)
        #expect(odd.index(of: 419_999) == 0 && odd.index(of: 420_000) == 1 && odd.index(of: 86_400_000) == nil)
    }
}
