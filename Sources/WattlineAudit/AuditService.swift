import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.audit.v1.AuditService`: a tenant's chain for its owners and admins (the platform's
/// chain is read with `wattline audit verify` on the database: its requests cannot name it).
public final class AuditService: Sendable {
    let store: Store
    static let verifyPage: Int64 = 10_000
    static let maxVerified: Int64 = 1_000_000

    public init(store: Store) {
        self.store = store
    }

    public func register(in router: inout Router) {
        router.unary(AuditV1.AuditService.ListEvents.self) { [self] request, context in try await listEvents(request, context) }
        router.unary(AuditV1.AuditService.VerifyChain.self) { [self] request, context in try await verifyChain(request, context) }
    }

    func listEvents(_ request: AuditV1.ListEventsRequest, _ context: CallContext) async throws -> AuditV1.ListEventsResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let size = request.pageSize == 0 ? 100 : Int(min(request.pageSize, 1_000))
        var conditions: [String] = []
        var parameters: [PGValue] = []
        func add(_ condition: String, _ value: PGValue) {
            parameters.append(value)
            conditions.append(condition.replacingOccurrences(of: "$?", with: "$\(parameters.count)"))
        }
        if !request.actorID.isEmpty {
            let actor = try requiredID(request.actorID, "actor_id")
            add("actor_id = $?", .uuid(actor))
        }
        if !request.subjectID.isEmpty {
            let subject = try requiredID(request.subjectID, "subject_id")
            add("subject_id = $?", .uuid(subject))
        }
        if !request.kinds.isEmpty { add("kind::text = ANY($?::text[])", .textArray(request.kinds.map { String($0.rawValue) })) }
        if request.outcome != .unspecified { add("outcome = $?", .int16(Int16(request.outcome.rawValue))) }
        if let range = request.range {
            guard range.endMs == 0 || range.startMs <= range.endMs else { throw CallFailure.invalidArgument("range is reversed") }
            if range.startMs != 0 { add("occurred_at_ms >= $?", .int64(range.startMs)) }
            if range.endMs != 0 { add("occurred_at_ms < $?", .int64(range.endMs)) }
        }
        if !request.pageToken.isEmpty {
            guard let after = Int64(request.pageToken), after > 0 else { throw CallFailure.invalidArgument("page_token is not one this service gave") }
            add(request.newestFirst ? "sequence < $?" : "sequence > $?", .int64(after))
        }
        let sql = """
            SELECT \(AuditLog.rowColumns) FROM wattline.audit_events
            \(conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND "))
            ORDER BY sequence \(request.newestFirst ? "DESC" : "ASC") LIMIT \(size + 1)
            """
        let rows = try await store.transaction(tenant: tenant) { [parameters] tx in
            try tx.query(sql, parameters).rows.map { AuditLog.Row(sequence: try $0.int64(0), encoding: try $0.bytes(1), hash: try $0.bytes(2)) }
        }
        var response = AuditV1.ListEventsResponse()
        response.events = try rows.prefix(size).map { try $0.event() }
        if rows.count > size { response.nextPageToken = String(rows[size - 1].sequence) }
        return response
    }

    func verifyChain(_ request: AuditV1.VerifyChainRequest, _ context: CallContext) async throws -> AuditV1.VerifyChainResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let anchor: (Int64, [UInt8])? = request.anchorSequence == 0 ? nil : (Int64(request.anchorSequence), request.anchorHash)
        guard anchor == nil || request.anchorHash.count == 32 else { throw CallFailure.invalidArgument("anchor_hash must be 32 bytes") }
        let from = max(1, Int64(request.fromSequence))
        let report = try await store.transaction(tenant: tenant, isolation: .repeatableRead) { tx in
            try Self.verify(tx, from: from, to: request.toSequence == 0 ? nil : Int64(request.toSequence), anchor: anchor)
        }
        return report
    }

    /// Verifies `from` through `to` (nil: the head) page by page.
    public static func verify(
        _ tx: borrowing TenantTransaction, from: Int64, to: Int64?, anchor: (sequence: Int64, hash: [UInt8])?
    ) throws -> AuditV1.VerifyChainResponse {
        let head = try AuditLog.head(tx)
        guard from <= max(1, head.sequence) else { throw CallFailure.outOfRange("from_sequence \(from) is past the head \(head.sequence)") }
        let last = min(to ?? head.sequence, head.sequence, from + maxVerified - 1)
        if let anchor, anchor.sequence > last { throw CallFailure.invalidArgument("anchor_sequence is after to_sequence") }
        var previous = from == 1 ? AuditLog.zeroHash : (try AuditLog.rows(tx, from: from - 1, to: from - 1).first?.hash ?? AuditLog.zeroHash)
        var response = AuditV1.VerifyChainResponse()
        response.verifiedFromSequence = UInt64(from)
        response.verifiedToSequence = UInt64(from - 1)
        response.verifiedToHash = previous
        var cursor = from
        while cursor <= last {
            let upper = min(last, cursor + verifyPage - 1)
            let rows = try AuditLog.rows(tx, from: cursor, to: upper)
            let report = ChainVerifier.verify(rows, from: cursor, previousHash: previous, anchor: anchor)
            response.eventsChecked += UInt64(report.eventsChecked)
            response.verifiedToSequence = UInt64(max(from - 1, report.verifiedTo))
            response.verifiedToHash = report.verifiedToHash
            if let broken = report.firstBroken {
                response.firstBrokenSequence = UInt64(broken)
                response.breakKind = report.breakKind
                break
            }
            if rows.count < upper - cursor + 1 {  // rows missing at the end of the page: a gap
                response.firstBrokenSequence = UInt64(report.verifiedTo + 1)
                response.breakKind = .sequenceGap
                break
            }
            previous = report.verifiedToHash
            cursor = upper + 1
        }
        response.headSequence = UInt64(head.sequence)
        response.headHash = head.hash
        response.verifiedAtMs = Int64(Date().timeIntervalSince1970 * 1_000)
        return response
    }
}
