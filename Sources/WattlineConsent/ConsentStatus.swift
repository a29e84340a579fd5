import Foundation
import WattlineProtos
import WattlineStore
import WattlineWire

/// The consent state of each scope of a site, and the gate every export passes.
public enum ConsentStatus {
    public static let allScopes: [ConsentV1.Scope] = [.cloudStorage, .exportThirdParty, .analytics, .bulkDownload]

    static func scopes(_ tx: borrowing TenantTransaction, site: UUID) throws -> [ConsentV1.ScopeStatus] {
        guard try tx.query("SELECT 1 FROM wattline.sites WHERE site_id = $1", [.uuid(site)]).first != nil else {
            throw CallFailure.notFound("no such site")
        }
        let consents = try tx.query(
            """
            SELECT c.consent_id, c.policy_version_id, c.signed_at_ms, c.revoked_at_ms, array_to_string(c.scopes, ','),
                   v.policy_id, v.locale, v.published_at_ms
            FROM wattline.consents c JOIN wattline.consent_policy_versions v USING (policy_version_id)
            WHERE c.site_id = $1 ORDER BY c.signed_at_ms DESC
            """, [.uuid(site)]).rows
        var statuses: [ConsentV1.ScopeStatus] = []
        for scope in allScopes {
            var status = ConsentV1.ScopeStatus.with { $0.scope = scope; $0.state = .notSigned }
            let covering = try consents.filter { try PolicyVersions.scopes($0, 4).contains(scope) }
            if let active = try covering.first(where: { try $0.optionalInt64(3) == nil }) {
                let (policy, locale, published) = (try active.uuid(5), try active.string(6), try active.int64(7))
                let resign = try tx.query(
                    """
                    SELECT 1 FROM wattline.consent_policy_versions WHERE policy_id = $1 AND locale = $2 AND published_at_ms > $3
                        AND requires_resigning AND $4 = ANY(scopes) LIMIT 1
                    """, [.uuid(policy), .text(locale), .int64(published), .int16(Int16(scope.rawValue))]).first
                status.state = resign == nil ? .active : .pending
                try fill(&status, active)
                status.latestPolicyVersionID = try latestCovering(tx, scope, policy: policy, locale: locale) ?? status.policyVersionID
            } else if let revoked = try covering.max(by: { try revokedAt($0) < revokedAt($1) }) {
                status.state = .revoked
                try fill(&status, revoked)
                status.revokedAtMs = try revoked.optionalInt64(3) ?? 0
                status.latestPolicyVersionID = try latestCovering(tx, scope, policy: try revoked.uuid(5), locale: try revoked.string(6)) ?? []
            } else {
                status.latestPolicyVersionID = try latestCovering(tx, scope, policy: nil, locale: nil) ?? []
            }
            statuses.append(status)
        }
        return statuses
    }

    private static func revokedAt(_ row: PGRow) throws -> Int64 { try row.optionalInt64(3) ?? 0 }

    private static func fill(_ status: inout ConsentV1.ScopeStatus, _ row: PGRow) throws {
        status.consentID = try row.uuid(0).bytes
        status.policyVersionID = try row.uuid(1).bytes
        status.signedAtMs = try row.int64(2)
    }

    /// The newest version covering `scope` (of one policy in one locale, or of any).
    private static func latestCovering(_ tx: borrowing TenantTransaction, _ scope: ConsentV1.Scope, policy: UUID?, locale: String?) throws -> [UInt8]? {
        try tx.query(
            """
            SELECT policy_version_id FROM wattline.consent_policy_versions
            WHERE $1 = ANY(scopes) AND ($2::uuid IS NULL OR policy_id = $2) AND ($3::text IS NULL OR locale = $3)
            ORDER BY published_at_ms DESC LIMIT 1
            """, [.int16(Int16(scope.rawValue)), policy.map(PGValue.uuid) ?? .null, locale.map(PGValue.text) ?? .null]
        ).first.map { try $0.uuid(0).bytes }
    }
}

/// The export gate (docs/privacy.md, "Exports"): data leaves Wattline only while a signed consent
/// covering the site and the scope is in force, checked in the transaction that reads the data.
/// The consent row is locked for share, so a revocation waits for the reading transaction and
/// every later one is refused.
public enum ExportGate {
    public static func require(_ tx: borrowing TenantTransaction, site: UUID, scope: ConsentV1.Scope) throws {
        let found = try tx.query(
            """
            SELECT consent_id FROM wattline.consents WHERE site_id = $1 AND revoked_at_ms IS NULL AND $2 = ANY(scopes)
            ORDER BY signed_at_ms DESC LIMIT 1 FOR SHARE
            """, [.uuid(site), .int16(Int16(scope.rawValue))]).first
        guard found != nil else {
            throw CallFailure.failedPrecondition(
                "no signed consent for scope \(ReceiptDocument.name(scope)) is in force for site \(site.lowercased): "
                    + "its Responsible must sign the Data Use and Protection policy for that scope (ConsentService.Sign)")
        }
    }
}
