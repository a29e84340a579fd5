import Foundation
import Synchronization
import WattlineAudit
import WattlineConsent
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineWire

/// A person's data across Wattline (docs/privacy.md, "Your rights"): what `AccessPersonalData`
/// returns as one JSON document, and where `Erasure` looks.
final class PersonalData: Sendable {
    let store: Store
    let ims: ImsService
    /// When each person last asked (once an hour, per server node).
    let lastAsked = Mutex<[UUID: Int64]>([:])

    init(store: Store, ims: ImsService) {
        self.store = store
        self.ims = ims
    }

    /// The tenants a person is a member of, and the sites they are Responsible for.
    static func tenancy(_ store: Store, _ person: UUID) async throws -> (memberships: [(tenant: UUID, role: String)], sites: [(tenant: UUID, site: UUID)]) {
        try await store.lookup(.identity(person)) { tx in
            let memberships = try tx.query("SELECT tenant_id, role FROM wattline.memberships WHERE identity_id = $1", [.uuid(person)]).rows
                .map { (try $0.uuid(0), try $0.string(1)) }
            let sites = try tx.query("SELECT tenant_id, site_id FROM wattline.sites WHERE responsible_identity_id = $1", [.uuid(person)]).rows
                .map { (try $0.uuid(0), try $0.uuid(1)) }
            return (memberships, sites)
        }
    }

    func document(_ person: UUID, nowMs: Int64) async throws -> PrivacyV1.AccessPersonalDataResponse {
        let allowed = lastAsked.withLock { asked -> Bool in
            if let last = asked[person], nowMs - last < 3_600_000 { return false }
            asked[person] = nowMs
            return true
        }
        guard allowed else { throw CallFailure.resourceExhausted("personal data can be asked for once an hour; try again later") }
        guard let record = try await ims.personalRecord(person) else { throw CallFailure.notFound("this identity no longer exists") }
        let (memberships, sites) = try await Self.tenancy(store, person)
        var consents: [CanonicalJSON] = []
        var events: [CanonicalJSON] = []
        // Events by them, or about them or their sessions (a sign-in names the session it opened).
        let about = [person] + record.sessions.compactMap { UUID(bytes: $0.sessionID) }
        for tenant in Set(memberships.map(\.tenant) + sites.map(\.tenant)) {
            let (tenantConsents, tenantEvents) = try await store.transaction(tenant: TenantID(tenant)) { tx in
                (try Self.consents(tx, person), try Self.auditEvents(tx, person, about: about))
            }
            consents += tenantConsents
            events += tenantEvents
        }
        events += try await store.transaction(tenant: AuditLog.platform) { tx in try Self.auditEvents(tx, person, about: about) }
        let id = { (uuid: UUID) in CanonicalJSON.string(uuid.lowercased) }
        let profile = record.profile
        let json = CanonicalJSON.object([
            "identity": .object([
                "identity_id": id(person), "email": .string(record.email), "display_name": .string(profile?.displayName ?? ""),
                "phone": .string(profile?.phone ?? ""), "locale": .string(profile?.locale ?? ""),
                "platform_operator": .bool(record.platformOperator), "created_at_ms": .int(record.createdAtMs),
            ]),
            "sessions": .array(record.sessions.map { session in
                .object([
                    "session_id": .string(UUID(bytes: session.sessionID)?.lowercased ?? ""), "created_at_ms": .int(session.createdAtMs),
                    "last_seen_at_ms": .int(session.lastSeenAtMs), "expires_at_ms": .int(session.expiresAtMs),
                    "last_source_address": .string(session.lastSourceAddress),
                    "client": .object([
                        "app_name": .string(session.client?.appName ?? ""), "app_version": .string(session.client?.appVersion ?? ""),
                        "os_name": .string(session.client?.osName ?? ""), "os_version": .string(session.client?.osVersion ?? ""),
                        "device_name": .string(session.client?.deviceName ?? ""),
                    ]),
                ])
            }),
            "invitations_received": .array(record.invitations.map {
                .object(["tenant_id": id($0.tenantID), "role": .string($0.role), "created_at_ms": .int($0.createdAtMs), "used": .bool($0.used)])
            }),
            "memberships": .array(memberships.map { .object(["tenant_id": id($0.tenant), "role": .string($0.role)]) }),
            "site_responsibilities": .array(sites.map { .object(["tenant_id": id($0.tenant), "site_id": id($0.site)]) }),
            "consents": .array(consents),
            "audit_events": .array(events),
            "generated_at_ms": .int(nowMs),
        ])
        let bytes = json.bytes
        return .with {
            $0.identityID = person.bytes
            $0.jsonDocument = bytes
            $0.jsonDocumentSHA256 = (try? sha256(bytes)) ?? []
            $0.generatedAtMs = nowMs
        }
    }

    /// The consents the person signed or revoked in the transaction's tenant.
    static func consents(_ tx: borrowing TenantTransaction, _ person: UUID) throws -> [CanonicalJSON] {
        guard let pseudonym = try tx.query("SELECT pii_principal_id FROM wattline.consent_principals WHERE identity_id = $1", [.uuid(person)])
            .first.map({ try $0.uuid(0) }) else { return [] }
        return try tx.query(
            """
            SELECT consent_id, site_id, policy_version_id, array_to_string(scopes, ','), signed_at_ms, revoked_at_ms,
                   pii_principal_id = $1, revoked_by_pii_principal_id = $1
            FROM wattline.consents WHERE pii_principal_id = $1 OR revoked_by_pii_principal_id = $1 ORDER BY signed_at_ms
            """, [.uuid(pseudonym)]).rows.map { row in
            .object([
                "tenant_id": .string(tx.tenant.description), "consent_id": .string(try row.uuid(0).lowercased),
                "site_id": .string(try row.uuid(1).lowercased), "policy_version_id": .string(try row.uuid(2).lowercased),
                "scopes": .array(try row.string(3).split(separator: ",").compactMap { Int32($0) }.map {
                    .string(ReceiptDocument.name(ConsentV1.Scope(rawValue: $0)))
                }),
                "signed_at_ms": .int(try row.int64(4)), "revoked_at_ms": try row.optionalInt64(5).map(CanonicalJSON.int) ?? .null,
                "signed_by_you": .bool((try? row.bool(6)) ?? false), "revoked_by_you": .bool((try? row.bool(7)) ?? false),
                "pseudonym_in_receipts": .string(pseudonym.lowercased),
            ])
        }
    }

    /// The audit events of the transaction's chain whose actor is the person or whose subject is
    /// one of `about`.
    static func auditEvents(_ tx: borrowing TenantTransaction, _ person: UUID, about: [UUID]) throws -> [CanonicalJSON] {
        try tx.query(
            "SELECT sequence, event, event_hash FROM wattline.audit_events WHERE actor_id = $1 OR subject_id = ANY($2::text[]::uuid[]) ORDER BY sequence",
            [.uuid(person), .textArray(about.map(\.lowercased))])
            .rows.map { row in
                let event = try AuditLog.Row(sequence: try row.int64(0), encoding: try row.bytes(1), hash: try row.bytes(2)).event()
                return .object([
                    "chain": .string(tx.tenant == AuditLog.platform ? "platform" : tx.tenant.description), "sequence": .int(Int64(event.sequence)),
                    "occurred_at_ms": .int(event.occurredAtMs), "action": .string(event.action), "outcome": .string("\(event.outcome)"),
                    "source_address": .string(event.sourceAddress),
                ])
            }
    }
}
