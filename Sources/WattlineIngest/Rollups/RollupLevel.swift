/// The rollup levels, finest first. 15-minute and hourly buckets are aligned to the epoch, so they
/// serve any time zone whose offset is a whole number of quarter hours (respectively hours);
/// daily buckets are the local days of the channel's site.
public enum RollupLevel: String, CaseIterable, Sendable {
    case quarterHour = "15m"
    case hour = "1h"
    case day = "1d"

    /// The bucket length of the epoch-aligned levels (nil for local days).
    public var fixedMs: Int64? {
        switch self {
        case .quarterHour: 900_000
        case .hour: 3_600_000
        case .day: nil
        }
    }

    /// The start of the fixed-length bucket holding `timeMs` (floor, also before 1970).
    public static func floor(_ timeMs: Int64, _ lengthMs: Int64) -> Int64 {
        let remainder = timeMs % lengthMs
        return remainder < 0 ? timeMs - remainder - lengthMs : timeMs - remainder
    }
}
