import Foundation
import WattlineProtos
import WattlineStore

/// A row of `wattline.ingest_batches` whose samples have not been compacted yet: the batch as the
/// logger sent it (with the server's quality flags), sealed with the tenant's data key and bound
/// to its logger and sequence.
struct StoredBatch {
    let logger: UUID
    let sequence: Int64
    let payload: [UInt8]
    /// When its transaction stored it, µs since the epoch: the order in which later wins.
    let storedUs: Int64

    /// The select list matching `init(row:)`, for a query over `ingest_batches`.
    static let selectList = "logger_id, sequence, payload, (extract(epoch FROM stored_at) * 1000000)::bigint"

    init(row: PGRow) throws {
        logger = try row.uuid(0)
        sequence = try row.int64(1)
        payload = try row.bytes(2)
        storedUs = try row.int64(3)
    }

    /// Stored order; batches of one transaction by logger and sequence.
    static func inStoredOrder(_ a: StoredBatch, _ b: StoredBatch) -> Bool {
        (a.storedUs, a.logger.uuidString, a.sequence) < (b.storedUs, b.logger.uuidString, b.sequence)
    }

    func open(_ tx: borrowing TenantTransaction, keyring: TenantKeyring) throws -> TelemetryBatchView {
        let bytes = try keyring.open(
            payload, tx, table: "ingest_batches", column: "payload", row: GroupCommitter.rowID(logger: logger, sequence: sequence))
        return try TelemetryBatchView(serializedBytes: bytes)
    }

    /// Every sample of the uncompacted batches whose time range overlaps `range`, in stored order.
    static func forEachUncompacted(
        _ tx: borrowing TenantTransaction, keyring: TenantKeyring, overlapping range: ClosedRange<Int64>,
        _ body: (TelemetrySample) throws -> Void
    ) throws {
        let rows = try tx.query(
            "SELECT \(selectList) FROM wattline.ingest_batches WHERE payload IS NOT NULL AND start_ms <= $1 AND end_ms >= $2",
            [.int64(range.upperBound), .int64(range.lowerBound)])
        for batch in try rows.rows.map(StoredBatch.init(row:)).sorted(by: inStoredOrder) {
            try batch.open(tx, keyring: keyring).forEachSample(body)
        }
    }
}
