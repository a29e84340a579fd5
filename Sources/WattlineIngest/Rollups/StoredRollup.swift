import Foundation
import WattlineStore
import WattlineTelemetry

/// A row of `wattline.rollups`: one channel's buckets of one level over one chunk (a UTC day for
/// the fixed levels, one local day for `.day`), sealed with the tenant's data key and bound to
/// tenant, channel, level, chunk and zone.
struct StoredRollup {
    static let columns = ["tenant_id", "channel_id", "level", "chunk_start_ms", "chunk_end_ms", "time_zone", "payload"]
    static let selectList = "channel_id, level, chunk_start_ms, chunk_end_ms, time_zone, payload"

    let channel: UInt64
    let level: RollupLevel
    let endMs: Int64
    /// The local day's zone for `.day`; "" otherwise.
    let timeZone: String
    let chunk: SummaryChunk

    init(channel: UInt64, level: RollupLevel, endMs: Int64, timeZone: String = "", chunk: SummaryChunk) {
        (self.channel, self.level, self.endMs, self.timeZone, self.chunk) = (channel, level, endMs, timeZone, chunk)
    }

    /// Reads and opens rows selected with `selectList` (one cipher context for all).
    static func read(_ rows: [PGRow], keyring: TenantKeyring, _ tx: borrowing TenantTransaction) throws -> [StoredRollup] {
        var fields: [(channel: UInt64, level: RollupLevel, startMs: Int64, endMs: Int64, timeZone: String)] = []
        var sealed: [(sealed: [UInt8], row: [UInt8])] = []
        for row in rows {
            let channel = UInt64(bitPattern: try row.int64(0))
            guard let level = RollupLevel(rawValue: try row.string(1)) else { throw TelemetryBlockError(.malformed, "unknown rollup level") }
            let (startMs, endMs, timeZone) = (try row.int64(2), try row.int64(3), try row.string(4))
            fields.append((channel, level, startMs, endMs, timeZone))
            sealed.append((try row.bytes(5), rowID(channel: channel, level: level, startMs: startMs, endMs: endMs, timeZone: timeZone)))
        }
        let plaintexts = try keyring.openAll(sealed, tx, table: "rollups", column: "payload")
        return try zip(fields, plaintexts).map { field, plaintext in
            StoredRollup(channel: field.channel, level: field.level, endMs: field.endMs, timeZone: field.timeZone,
                         chunk: try SummaryChunk.decode(plaintext, startMs: field.startMs))
        }
    }

    /// The payload to store: sealed before a COPY starts (no statement may run during one).
    func seal(_ keyring: TenantKeyring, _ tx: borrowing TenantTransaction) throws -> [UInt8] {
        try keyring.seal(
            chunk.encode(), tx, table: "rollups", column: "payload",
            row: Self.rowID(channel: channel, level: level, startMs: chunk.startMs, endMs: endMs, timeZone: timeZone))
    }

    func write(_ writer: inout BinaryCopyWriter, tenant: TenantID, sealed: [UInt8]) throws {
        try writer.beginRow()
        writer.append(.uuid(tenant.uuid))
        writer.append(Int64(bitPattern: channel))
        writer.append(.text(level.rawValue))
        writer.append(chunk.startMs)
        writer.append(endMs)
        writer.append(.text(timeZone))
        writer.append(sealed)
    }

    /// What the seal is bound to besides tenant, table and column: a row moved to another
    /// channel, level, chunk or zone does not open.
    static func rowID(channel: UInt64, level: RollupLevel, startMs: Int64, endMs: Int64, timeZone: String) -> [UInt8] {
        var id: [UInt8] = []
        for value in [Int64(bitPattern: channel), startMs, endMs] { withUnsafeBytes(of: value.bigEndian) { id += $0 } }
        return id + Array(level.rawValue.utf8) + [0] + Array(timeZone.utf8)
    }
}
