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

    /// Each channel's latest compacted sample among `channels`.
    public static func load(_ tx: borrowing TenantTransaction, keyring: TenantKeyring, channels: [UInt64]) throws -> [UInt64: LatestSample] {
        let rows = try tx.query(
            "SELECT channel_id, time_ms, payload FROM wattline.channel_latest WHERE channel_id = ANY($1::text[]::bigint[])",
            [.textArray(channels.map { String(Int64(bitPattern: $0)) })]).rows
        let keys = try rows.map { (channel: UInt64(bitPattern: try $0.int64(0)), timeMs: try $0.int64(1)) }
        let opened = try keyring.openAll(
            zip(rows, keys).map { (try $0.bytes(2), rowID($1.channel, $1.timeMs)) }, tx, table: "channel_latest", column: "payload")
        var latest: [UInt64: LatestSample] = [:]
        for (key, plaintext) in zip(keys, opened) {
            guard plaintext.count == 12 else { throw TelemetryBlockError(.malformed, "latest value of \(plaintext.count) bytes, not 12") }
            let value = plaintext[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
            let quality = plaintext[8..<12].reversed().reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
            latest[key.channel] = LatestSample(channel: key.channel, reading: Reading(timeMs: key.timeMs, value: Double(bitPattern: value), quality: quality))
        }
        return latest
    }

    static func rowID(_ channel: UInt64, _ timeMs: Int64) -> [UInt8] {
        var id: [UInt8] = []
        for value in [Int64(bitPattern: channel), timeMs] { withUnsafeBytes(of: value.bigEndian) { id += $0 } }
        return id
    }
}
