import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineAccess
import WattlineStore
import WattlineWire

/// Appends to and reads the hash chains of `wattline.audit_events` (docs/privacy.md, "Audit log").
///
/// A chain is a tenant's, or the platform's under the nil tenant id. Event n stores the hash of
/// event n − 1 (32 zero bytes for the first) inside its own encoding, and its hash is SHA-256 of
/// that encoding: any change, removal or reordering breaks a link that `ChainVerifier` finds.
/// Appends to one chain are serialised by a transaction-scoped advisory lock.
public enum AuditLog {
    /// The platform's chain: events outside any tenant (sign-ins, operators' actions).
    public static let platform = TenantID(UUID(uuid: (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)))
    static let zeroHash = [UInt8](repeating: 0, count: 32)

    /// Appends `event` (sequence, tenant, previous hash and time are set here) to the chain of the
    /// transaction's tenant; returns it as stored.
    @discardableResult
    public static func append(_ tx: borrowing TenantTransaction, _ event: AuditV1.AuditEvent, occurredAtMs: Int64? = nil) throws -> AuditV1.AuditEvent {
        try tx.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("wattline.audit:\(tx.tenant)")])
        let head = try tx.query("SELECT sequence, event_hash FROM wattline.audit_events ORDER BY sequence DESC LIMIT 1").first
        var stored = event
        stored.sequence = UInt64(try head?.int64(0) ?? 0) + 1
        stored.previousHash = try head?.bytes(1) ?? zeroHash
        stored.tenantID = tx.tenant == platform ? [] : tx.tenant.bytes
        stored.occurredAtMs = occurredAtMs ?? Int64(Date().timeIntervalSince1970 * 1_000)
        stored.eventHash = []
        let encoding = stored.serializedBytes()
        let hash = try sha256(encoding)
        try tx.query(
            """
            INSERT INTO wattline.audit_events (tenant_id, sequence, occurred_at_ms, kind, outcome, actor_id, subject_id, event, event_hash)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
            """,
            [.uuid(tx.tenant.uuid), .int64(Int64(stored.sequence)), .int64(stored.occurredAtMs), .int16(Int16(stored.kind.rawValue)),
             .int16(Int16(stored.outcome.rawValue)), stored.actor.flatMap(Self.actorID).map(PGValue.uuid) ?? .null,
             stored.subject.flatMap { UUID(bytes: $0.subjectID) }.map(PGValue.uuid) ?? .null, .bytea(encoding), .bytea(hash)])
        stored.eventHash = hash
        return stored
    }

    /// The success event of the call a handler is serving (for methods `AuditedMethods` marks as
    /// recorded by their handler), about `subject`; append it in the transaction of the change.
    public static func success(of context: CallContext, subject: (AuditV1.SubjectKind, UUID)?) -> AuditV1.AuditEvent {
        guard let entry = AuditedMethods.entries[context.method] else { preconditionFailure("\(context.method) is not audited") }
        var event = AuditRecorder.event(context, entry: entry, principal: context.principal as? Principal ?? .anonymous, response: nil)
        if let (kind, id) = subject { event.subject = .with { $0.kind = kind; $0.subjectID = id.bytes } }
        event.outcome = .success
        return event
    }

    /// The person, logger or credential an actor names (for the actor filter and personal data).
    static func actorID(_ actor: AuditV1.Actor) -> UUID? {
        switch actor.principal {
        case .identityID(let id)?, .loggerID(let id)?, .credentialID(let id)?: UUID(bytes: id)
        default: nil
        }
    }

    /// A stored row: its sequence, the encoding its hash covers, and the stored hash.
    public struct Row: Sendable {
        public let sequence: Int64
        public let encoding: [UInt8]
        public let hash: [UInt8]

        public init(sequence: Int64, encoding: [UInt8], hash: [UInt8]) {
            (self.sequence, self.encoding, self.hash) = (sequence, encoding, hash)
        }

        /// The event with its hash.
        public func event() throws -> AuditV1.AuditEvent {
            var event = try AuditV1.AuditEvent(serializedBytes: encoding)
            event.eventHash = hash
            return event
        }
    }

    static let rowColumns = "sequence, event, event_hash"

    /// The rows of the chain from `from` through `to`, in sequence order.
    public static func rows(_ tx: borrowing TenantTransaction, from: Int64, to: Int64) throws -> [Row] {
        try tx.query(
            "SELECT \(rowColumns) FROM wattline.audit_events WHERE sequence BETWEEN $1 AND $2 ORDER BY sequence",
            [.int64(from), .int64(to)]
        ).rows.map { Row(sequence: try $0.int64(0), encoding: try $0.bytes(1), hash: try $0.bytes(2)) }
    }

    /// The chain's newest sequence and hash (0 and zeros when empty).
    public static func head(_ tx: borrowing TenantTransaction) throws -> (sequence: Int64, hash: [UInt8]) {
        guard let row = try tx.query("SELECT sequence, event_hash FROM wattline.audit_events ORDER BY sequence DESC LIMIT 1").first else {
            return (0, zeroHash)
        }
        return (try row.int64(0), try row.bytes(1))
    }
}
