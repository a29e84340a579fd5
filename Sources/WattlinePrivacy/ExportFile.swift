import Foundation
import WattlineCrypto
import WattlineProtos

/// The bytes of a telemetry export, line by line (docs/privacy.md, "Exports"): CSV (RFC 4180,
/// CRLF) or JSON Lines; times RFC 3339 UTC with milliseconds; values with the channel's decimal
/// places (a non-finite value is empty in CSV, null in JSON). Cut into chunks of whole lines of at
/// most `chunkBytes`, hashed as they go.
struct ExportFile {
    static let chunkBytes = 65_536

    let format: PrivacyV1.ExportFormat
    private(set) var pending: [UInt8] = []
    private(set) var offset: UInt64 = 0
    private(set) var rows: UInt64 = 0
    let hasher: SHA256Hasher

    init(format: PrivacyV1.ExportFormat) throws {
        self.format = format
        hasher = try SHA256Hasher()
        if format == .csv { pending = Array("time,channel_id,value,quality\r\n".utf8) }
    }

    /// Appends one sample's line; returns a full chunk when the line would not fit the current one.
    mutating func append(timeMs: Int64, channel: UInt64, value: Double, decimals: Int, quality: UInt32) throws -> PrivacyV1.ExportChunk? {
        let time = Self.rfc3339(timeMs)
        let number = value.isFinite ? String(format: "%.\(decimals)f", value) : nil
        let line: String = switch format {
        case .csv: "\(time),\(channel),\(number ?? ""),\(quality)\r\n"
        default: "{\"time\":\"\(time)\",\"channel_id\":\"\(channel)\",\"value\":\(number ?? "null"),\"quality\":\(quality)}\n"
        }
        rows += 1
        let bytes = Array(line.utf8)
        var full: PrivacyV1.ExportChunk?
        if pending.count + bytes.count > Self.chunkBytes { full = try flush() }
        pending += bytes
        return full
    }

    /// The pending lines as a chunk (nil when there are none).
    mutating func flush() throws -> PrivacyV1.ExportChunk? {
        guard !pending.isEmpty else { return nil }
        try hasher.update(pending)
        let chunk = PrivacyV1.ExportChunk.with { $0.content = pending; $0.offset = offset }
        offset += UInt64(pending.count)
        pending = []
        return chunk
    }

    /// "2026-11-29T16:55:33.651Z" (proleptic Gregorian, UTC; civil-from-days by H. Hinnant).
    static func rfc3339(_ ms: Int64) -> String {
        let (days, msOfDay) = (ms >= 0 ? ms / 86_400_000 : (ms - 86_399_999) / 86_400_000, ((ms % 86_400_000) + 86_400_000) % 86_400_000)
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let (h, m, s, milli) = (msOfDay / 3_600_000, msOfDay / 60_000 % 60, msOfDay / 1_000 % 60, msOfDay % 1_000)
        return String(format: "%04lld-%02lld-%02lldT%02lld:%02lld:%02lld.%03lldZ", year, month, day, h, m, s, milli)
    }
}
