import Foundation
import WattlineAccess
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineWire

/// `RequestErasure` and `GetErasureStatus` (docs/privacy.md, "Erasure"). An erasure runs at once
/// and its record (`wattline.erasures`) is its receipt: per category of data, what was deleted,
/// pseudonymised or kept and why.
struct Erasure {
    let store: Store
    let ims: ImsService

    static let consentRetention = "Consent receipts are evidence of the data controller's lawful basis (GDPR art. 7(1)); kept "
        + "under a pseudonym whose link to you is deleted now, for as long as the consented processing must be demonstrable"
    static let auditRetention = "Security audit events name you only by an identifier that no longer leads to you; kept tamper-evident "
        + "for the tenant's security and legal obligations"

    func request(_ request: PrivacyV1.RequestErasureRequest, _ context: CallContext) async throws -> PrivacyV1.RequestErasureResponse {
        guard case .person(let callerText, _, let grants)? = context.principal as? Principal, let caller = UUID(uuidString: callerText) else {
            throw CallFailure.permissionDenied("only a person asks for an erasure")
        }
        guard request.reason.count <= 500 else { throw CallFailure.invalidArgument("reason must be at most 500 characters") }
        let person = try optionalID(request.identityID, "identity_id") ?? caller
        let onlyTenant: UUID?
        if request.tenantID.isEmpty {
            onlyTenant = nil
            guard person == caller else { throw CallFailure.invalidArgument("erasing someone else needs tenant_id, the tenant you administer") }
            guard try await ims.verifyPassword(caller, request.currentPassword) else {
                throw CallFailure.unauthenticated("the current password is wrong")
            }
        } else {
            let tenant = try requiredID(request.tenantID, "tenant_id")
            guard let role = grants.tenantRoles[tenant.lowercased], role.includes(.admin) else {
                throw CallFailure.permissionDenied("only an admin of the tenant erases a member's data there")
            }
            onlyTenant = tenant
        }
        let (memberships, sites) = try await PersonalData.tenancy(store, person)
        if let tenant = onlyTenant, !memberships.contains(where: { $0.tenant == tenant }) {
            throw CallFailure.notFound("this person is not a member of the tenant")
        }
        let tenants = onlyTenant.map { [$0] } ?? Array(Set(memberships.map(\.tenant)))
        if let site = sites.first(where: { tenants.contains($0.tenant) }) {
            throw CallFailure.failedPrecondition("the person is the Responsible of site \(site.site.lowercased); name another Responsible first")
        }
        for tenant in tenants where memberships.contains(where: { $0.tenant == tenant && $0.role == "owner" }) {
            let owners = try await store.transaction(tenant: TenantID(tenant)) { tx in
                try tx.query("SELECT count(*) FROM wattline.memberships WHERE role = 'owner'")[0].int64(0)
            }
            if owners <= 1 { throw CallFailure.failedPrecondition("the person is the last owner of tenant \(tenant.lowercased); name another owner first") }
        }
        // The whole identity when asked for it, or when its last membership goes.
        let whole = onlyTenant == nil || memberships.allSatisfy { $0.tenant == onlyTenant }
        var counts: [String: (PrivacyV1.ErasureAction, Int, String)] = [:]
        func add(_ category: String, _ action: PrivacyV1.ErasureAction, _ count: Int, _ reason: String = "") {
            let previous = counts[category]?.1 ?? 0
            counts[category] = (action, previous + count, reason)
        }
        for tenant in tenants {
            let (membership, receipts, events) = try await store.transaction(tenant: TenantID(tenant)) { tx in
                let membership = try tx.query("DELETE FROM wattline.memberships WHERE identity_id = $1", [.uuid(person)]).affectedRows
                var receipts = 0
                if let pseudonym = try tx.query("DELETE FROM wattline.consent_principals WHERE identity_id = $1 RETURNING pii_principal_id",
                                                [.uuid(person)]).first.map({ try $0.uuid(0) }) {
                    receipts = Int(try tx.query("SELECT count(*) FROM wattline.consents WHERE pii_principal_id = $1 OR revoked_by_pii_principal_id = $1",
                                                [.uuid(pseudonym)])[0].int64(0))
                }
                let events = Int(try tx.query("SELECT count(*) FROM wattline.audit_events WHERE actor_id = $1", [.uuid(person)])[0].int64(0))
                return (membership, receipts, events)
            }
            add("memberships", .deleted, membership)
            add("consent receipts", .pseudonymised, receipts, Self.consentRetention)
            add("audit events", .pseudonymised, events, Self.auditRetention)
        }
        if whole {
            for (category, count) in try await ims.erase(person) { add(category, .deleted, count) }
        }
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let erasure = PrivacyV1.Erasure.with {
            $0.erasureID = UUID.v7().bytes
            $0.identityID = person.bytes
            $0.tenantID = whole ? [] : onlyTenant?.bytes ?? []
            $0.extent = whole ? .identity : .tenant
            $0.requestedByIdentityID = caller.bytes
            $0.state = .completed
            $0.requestedAtMs = now
            $0.completedAtMs = Int64(Date().timeIntervalSince1970 * 1_000)
            $0.categories = counts.keys.sorted().map { category in
                .with {
                    $0.category = category
                    ($0.action, $0.recordCount, $0.retentionReason) = (counts[category]!.0, UInt64(counts[category]!.1), counts[category]!.2)
                }
            }
        }
        let recordedTenant = whole ? nil : onlyTenant
        try await store.platformTransaction { tx in
            try tx.query(
                "INSERT INTO wattline.erasures (erasure_id, identity_id, erased_in_tenant, requested_by, requested_at_ms, erasure) VALUES ($1, $2, $3, $4, $5, $6)",
                [.uuid(UUID(bytes: erasure.erasureID)!), .uuid(person), recordedTenant.map(PGValue.uuid) ?? .null, .uuid(caller),
                 .int64(now), .bytea(erasure.serializedBytes())])
        }
        return .with { $0.erasure = erasure }
    }

    func status(_ request: PrivacyV1.GetErasureStatusRequest, _ context: CallContext) async throws -> PrivacyV1.GetErasureStatusResponse {
        guard case .person(let callerText, _, let grants)? = context.principal as? Principal, let caller = UUID(uuidString: callerText) else {
            throw CallFailure.permissionDenied("only a person reads an erasure")
        }
        let id = try requiredID(request.erasureID, "erasure_id")
        guard let bytes = try await store.platformTransaction({ tx in
            try tx.query("SELECT erasure FROM wattline.erasures WHERE erasure_id = $1", [.uuid(id)]).first.map { try $0.bytes(0) }
        }) else { throw CallFailure.notFound("no such erasure") }
        let erasure = try PrivacyV1.Erasure(serializedBytes: bytes)
        let tenant = UUID(bytes: erasure.tenantID)?.lowercased
        let allowed = erasure.requestedByIdentityID == caller.bytes || grants.platformOperator
            || tenant.flatMap { grants.tenantRoles[$0] }.map { $0.includes(.admin) } == true
        guard allowed else { throw CallFailure.notFound("no such erasure") }  // not revealing others' erasures
        return .with { $0.erasure = erasure }
    }
}
