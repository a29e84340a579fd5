import WattlineCrypto
import WattlineProtos

/// Checks a run of a chain's rows (docs/privacy.md, "Audit log"): every row's hash is SHA-256 of
/// its encoding, the encoding names its own sequence and the previous row's hash, sequences run
/// without gaps, and an anchor the caller trusts matches. Pure: the server's VerifyChain and
/// `wattline audit verify` (reading the database directly) run the same code.
public struct ChainVerifier {
    public struct Report: Sendable, Equatable {
        public var verifiedFrom: Int64
        /// The last sequence verified intact, and its hash.
        public var verifiedTo: Int64
        public var verifiedToHash: [UInt8]
        public var firstBroken: Int64?
        public var breakKind: AuditV1.BreakKind = .unspecified
        public var eventsChecked = 0
    }

    /// `rows` must be the chain's rows with sequence ≥ `from`, ascending, as read; `previousHash`
    /// the hash of row `from − 1` (zeros when `from` is 1); `anchor` a (sequence, hash) the caller
    /// trusts from earlier, inside the rows or equal to from − 1.
    public static func verify(
        _ rows: [AuditLog.Row], from: Int64, previousHash: [UInt8], anchor: (sequence: Int64, hash: [UInt8])? = nil
    ) -> Report {
        var report = Report(verifiedFrom: from, verifiedTo: from - 1, verifiedToHash: previousHash)
        if let anchor, anchor.sequence == from - 1, !ConstantTime.equals(anchor.hash, previousHash) {
            report.firstBroken = from - 1
            report.breakKind = .anchorMismatch
            return report
        }
        var expected = from
        var previous = previousHash
        for row in rows {
            report.eventsChecked += 1
            func broken(_ kind: AuditV1.BreakKind, at sequence: Int64) -> Report {
                var broken = report
                (broken.firstBroken, broken.breakKind) = (sequence, kind)
                return broken
            }
            guard row.sequence == expected else { return broken(.sequenceGap, at: expected) }
            guard let hash = try? sha256(row.encoding), ConstantTime.equals(hash, row.hash),
                  let event = try? AuditV1.AuditEvent(serializedBytes: row.encoding), event.eventHash.isEmpty,
                  event.sequence == UInt64(row.sequence)
            else { return broken(.hashMismatch, at: row.sequence) }
            guard ConstantTime.equals(event.previousHash, previous) else { return broken(.linkMismatch, at: row.sequence) }
            if let anchor, anchor.sequence == row.sequence, !ConstantTime.equals(anchor.hash, row.hash) {
                return broken(.anchorMismatch, at: row.sequence)
            }
            (report.verifiedTo, report.verifiedToHash) = (row.sequence, row.hash)
            previous = row.hash
            expected += 1
        }
        return report
    }
}
