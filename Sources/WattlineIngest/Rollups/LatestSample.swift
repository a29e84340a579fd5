import WattlineStore
import WattlineTelemetry

/// A row of `wattline.channel_latest`: a channel's newest compacted sample; the time in clear (to
/// compare without decrypting), value and quality sealed and bound to channel and time.
public struct LatestSample: Sendable, Equatable {
    public let channel: UInt64
    public let reading: Reading

    public init(channel: UInt64, reading: Reading) {
        self.channel = channel
        self.reading = reading
    }

    func seal(_ keyring: TenantKeyring, _ tx: borrowing TenantTransaction) throws -> [UInt8] {
        var plaintext: [UInt8] = []
        withUnsafeBytes(of: reading.value.bitPattern.littleEndian) { plaintext += $0 }
        withUnsafeBytes(of: reading.quality.littleEndian) { plaintext += $0 }
        return try keyring.seal(plaintext, tx, table: "channel_latest", column: "payload", row: Self.rowID(channel, reading.timeMs))
    }

    /// Reads a row of `channel_id, time_ms, payload`.
    init(row: PGRow, keyring: TenantKeyring, _ tx: borrowing TenantTransaction) throws {
        channel = UInt64(bitPattern: try row.int64(0))
        let timeMs = try row.int64(1)
        let plaintext = try keyring.open(try row.bytes(2), tx, table: "channel_latest", column: "payload", row: Self.rowID(channel, timeMs))
        guard plaintext.count == 12 else { throw TelemetryBlockError(.malformed, "latest value of \(plaintext.count) bytes, not 12") }
        let value = plaintext[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let quality = plaintext[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        reading = Reading(timeMs: timeMs, value: Double(bitPattern: value), quality: quality)
    }

    /// Each channel's latest compacted sample among `channels`.
    public static func load(_ tx: borrowing TenantTransaction, keyring: TenantKeyring, channels: [UInt64]) throws -> [UInt64: LatestSample] {
        let rows = try tx.query(
            "SELECT channel_id, time_ms, payload FROM wattline.channel_latest WHERE channel_id = ANY($1::text[]::bigint[])",
            [.textArray(channels.map { String(Int64(bitPattern: $0)) })])
        var latest: [UInt64: LatestSample] = [:]
        for row in rows.rows {
            let sample = try LatestSample(row: row, keyring: keyring, tx)
            latest[sample.channel] = sample
        }
        return latest
    }

    static func rowID(_ channel: UInt64, _ timeMs: Int64) -> [UInt8] {
        var id: [UInt8] = []
        for value in [Int64(bitPattern: channel), timeMs] { withUnsafeBytes(of: value.bigEndian) { id += $0 } }
        return id
    }
}
