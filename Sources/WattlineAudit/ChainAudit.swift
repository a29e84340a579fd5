import Foundation
import WattlineProtos
import WattlineStore

/// `wattline audit verify`: every chain (or one) read straight from the database, as an auditor
/// with read access would, and checked with `ChainVerifier`, without trusting the server.
public enum ChainAudit {
    public struct Result: Sendable {
        /// The tenant, or nil for the platform's chain.
        public let tenant: UUID?
        public let report: ChainVerifier.Report
        public let head: Int64
    }

    /// The chains' tenant ids (the platform's is the nil UUID).
    public static func chains(_ connection: PGConnection) throws -> [UUID] {
        try connection.query("SELECT DISTINCT tenant_id FROM wattline.audit_events ORDER BY tenant_id").rows.map { try $0.uuid(0) }
    }

    /// Verifies one chain from its first event to its newest, `page` rows at a time; `anchor`:
    /// a (sequence, hash) kept from an earlier run, which catches a rewritten or truncated tail.
    public static func verify(
        _ connection: PGConnection, chain: UUID, anchor: (sequence: Int64, hash: [UInt8])? = nil, page: Int64 = 10_000
    ) throws -> Result {
        let head = try connection.query("SELECT coalesce(max(sequence), 0) FROM wattline.audit_events WHERE tenant_id = $1", [.uuid(chain)])[0].int64(0)
        var previous = AuditLog.zeroHash
        var total = ChainVerifier.Report(verifiedFrom: 1, verifiedTo: 0, verifiedToHash: previous)
        var cursor: Int64 = 1
        if let anchor, anchor.sequence > head {
            total.firstBroken = head + 1
            total.breakKind = .sequenceGap  // the chain ends before an event that was seen
            return Result(tenant: chain == AuditLog.platform.uuid ? nil : chain, report: total, head: head)
        }
        while cursor <= head {
            let rows = try connection.query(
                "SELECT \(AuditLog.rowColumns) FROM wattline.audit_events WHERE tenant_id = $1 AND sequence >= $2 ORDER BY sequence LIMIT $3",
                [.uuid(chain), .int64(cursor), .int64(page)]
            ).rows.map { AuditLog.Row(sequence: try $0.int64(0), encoding: try $0.bytes(1), hash: try $0.bytes(2)) }
            let report = ChainVerifier.verify(rows, from: cursor, previousHash: previous, anchor: anchor)
            total.eventsChecked += report.eventsChecked
            (total.verifiedTo, total.verifiedToHash) = (report.verifiedTo, report.verifiedToHash)
            if let broken = report.firstBroken {
                (total.firstBroken, total.breakKind) = (broken, report.breakKind)
                break
            }
            guard let last = rows.last else { break }
            previous = last.hash
            cursor = last.sequence + 1
        }
        return Result(tenant: chain == AuditLog.platform.uuid ? nil : chain, report: total, head: head)
    }
}
