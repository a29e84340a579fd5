import Foundation
import WattlineAccess
import WattlineAudit
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// Sign and Revoke: the Responsible's signature over the exact text shown, and its revocation,
/// each attested by a signed receipt and recorded in the audit log in the same transaction.
extension ConsentService {
    func sign(_ request: ConsentV1.SignRequest, _ context: CallContext) async throws -> ConsentV1.SignResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let person = try Self.person(context)
        let site = try requiredID(request.siteID, "site_id")
        let versionID = try requiredID(request.policyVersionID, "policy_version_id")
        let requestID = try requiredID(request.requestID, "request_id")
        guard request.documentSHA256.count == 32 else { throw CallFailure.invalidArgument("document_sha256 must be 32 bytes") }
        let scopes = try PolicyVersions.validScopes(request.scopes)
        let client = try Self.clientInfo(request.client)
        let (keyring, signer) = (keyring, signer)
        let receipt = try await store.transaction(tenant: tenant) { tx -> ConsentV1.ConsentReceipt in
            if let earlier = try tx.query("SELECT receipt FROM wattline.consents WHERE sign_request_id = $1", [.uuid(requestID)]).first {
                return try ConsentV1.ConsentReceipt(serializedBytes: try earlier.bytes(0))  // a retry: the first attempt's receipt
            }
            try Self.checkResponsible(tx, site: site, person: person)
            guard let row = try tx.query("SELECT \(PolicyVersions.columns) FROM wattline.consent_policy_versions WHERE policy_version_id = $1",
                                         [.uuid(versionID)]).first else { throw CallFailure.notFound("no such policy version") }
            let version = try PolicyVersions.read(row, withText: false)
            guard ConstantTime.equals(version.textSHA256, request.documentSHA256) else {
                throw CallFailure.failedPrecondition("document_sha256 is not the SHA-256 of this version's text: the text shown differs; fetch it again")
            }
            let latest = try PolicyVersions.latest({ try tx.query($0, $1) }, policy: UUID(bytes: version.policyID)!, locale: version.locale)
            guard let latest, try latest.uuid(0) == versionID else {
                throw CallFailure.failedPrecondition("policy version \(version.version) has been superseded in \(version.locale); sign the latest one")
            }
            if let uncovered = scopes.first(where: { !version.scopes.contains($0) }) {
                throw CallFailure.invalidArgument("version \(version.version) does not cover scope \(ReceiptDocument.name(uncovered))")
            }
            let consent = UUID.v7()
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let receipt = try Self.receipt(
                tx, keyring: keyring, signer: signer, kind: .consent, consent: consent, site: site, version: version, scopes: scopes,
                principal: try Self.pseudonym(tx, person), client: request.client, now: now, original: nil)
            try tx.query(
                """
                INSERT INTO wattline.consents (tenant_id, consent_id, site_id, policy_version_id, pii_principal_id, scopes, signed_at_ms,
                    sign_request_id, client_info_enc, receipt)
                VALUES ($1, $2, $3, $4, $5, $6::text[]::smallint[], $7, $8, $9, $10)
                """,
                [.uuid(tx.tenant.uuid), .uuid(consent), .uuid(site), .uuid(versionID), .uuid(UUID(bytes: receipt.piiPrincipalID)!),
                 PolicyVersions.scopeArray(scopes), .int64(now), .uuid(requestID),
                 .bytea(try keyring.seal(client, tx, table: "consents", column: "client_info_enc", row: consent.bytes)),
                 .bytea(receipt.serializedBytes())])
            try AuditLog.append(tx, AuditLog.success(of: context, subject: (.consent, consent)))
            return receipt
        }
        return .with { $0.receipt = receipt }
    }

    func revoke(_ request: ConsentV1.RevokeRequest, _ context: CallContext) async throws -> ConsentV1.RevokeResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let person = try Self.person(context)
        let site = try requiredID(request.siteID, "site_id")
        let consent = try requiredID(request.consentID, "consent_id")
        let requestID = try requiredID(request.requestID, "request_id")
        guard request.reason.count <= 500 else { throw CallFailure.invalidArgument("reason must be at most 500 characters") }
        _ = try Self.clientInfo(request.client)
        let (keyring, signer) = (keyring, signer)
        let receipt = try await store.transaction(tenant: tenant) { tx -> ConsentV1.ConsentReceipt in
            guard let row = try tx.query(
                "SELECT revoked_at_ms, revoke_request_id, revocation_receipt, receipt FROM wattline.consents WHERE consent_id = $1 AND site_id = $2 FOR UPDATE",
                [.uuid(consent), .uuid(site)]).first else { throw CallFailure.notFound("no consent \(consent.lowercased) at this site") }
            if try row.optionalInt64(0) != nil {
                if try row.optionalUUID(1) == requestID, let earlier = try row.optionalBytes(2) {
                    return try ConsentV1.ConsentReceipt(serializedBytes: earlier)  // a retry
                }
                throw CallFailure.failedPrecondition("consent \(consent.lowercased) is already revoked")
            }
            // A tenant owner may revoke; anyone else must be the site's Responsible now.
            if (context.principal as? Principal)?.grants.tenantRoles[tx.tenant.description] != .owner {
                try Self.checkResponsible(tx, site: site, person: person)
            }
            let original = try ConsentV1.ConsentReceipt(serializedBytes: try row.bytes(3))
            guard let versionRow = try tx.query("SELECT \(PolicyVersions.columns) FROM wattline.consent_policy_versions WHERE policy_version_id = $1",
                                                [.uuid(UUID(bytes: original.policyVersionID)!)]).first else { throw CallFailure.internalError() }
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let principal = try Self.pseudonym(tx, person)
            let receipt = try Self.receipt(
                tx, keyring: keyring, signer: signer, kind: .revocation, consent: consent, site: site,
                version: try PolicyVersions.read(versionRow, withText: false), scopes: original.scopes, principal: principal,
                client: request.client, now: now, original: UUID(bytes: original.receiptID))
            try tx.query(
                """
                UPDATE wattline.consents SET revoked_at_ms = $2, revoke_request_id = $3, revoked_by_pii_principal_id = $4,
                    revocation_reason_enc = $5, revocation_receipt = $6
                WHERE consent_id = $1
                """,
                [.uuid(consent), .int64(now), .uuid(requestID), .uuid(principal),
                 .bytea(try keyring.sealText(request.reason, tx, "consents", "revocation_reason_enc", row: consent.bytes)),
                 .bytea(receipt.serializedBytes())])
            try AuditLog.append(tx, AuditLog.success(of: context, subject: (.consent, consent)))
            return receipt
        }
        return .with { $0.receipt = receipt }
    }

    static func person(_ context: CallContext) throws -> UUID {
        guard case .person(let identity, _, _) = context.principal as? Principal, let id = UUID(uuidString: identity) else {
            throw CallFailure.permissionDenied("only a person signs or revokes consent")
        }
        return id
    }

    /// The site's Responsible, now (a token's grant may predate a change of Responsible).
    static func checkResponsible(_ tx: borrowing TenantTransaction, site: UUID, person: UUID) throws {
        guard let row = try tx.query("SELECT responsible_identity_id FROM wattline.sites WHERE site_id = $1 FOR SHARE", [.uuid(site)]).first else {
            throw CallFailure.notFound("no such site")
        }
        guard try row.optionalUUID(0) == person else {
            throw CallFailure.permissionDenied("only the site's Responsible signs or revokes its consent")
        }
    }

    /// The person's pseudonym in the tenant, made on first use.
    static func pseudonym(_ tx: borrowing TenantTransaction, _ person: UUID) throws -> UUID {
        if let row = try tx.query("SELECT pii_principal_id FROM wattline.consent_principals WHERE identity_id = $1", [.uuid(person)]).first {
            return try row.uuid(0)
        }
        let pseudonym = UUID.v7()
        try tx.query("INSERT INTO wattline.consent_principals (tenant_id, identity_id, pii_principal_id) VALUES ($1, $2, $3)",
                     [.uuid(tx.tenant.uuid), .uuid(person), .uuid(pseudonym)])
        return pseudonym
    }

    /// The client information as stored (sealed); lengths as the contract says.
    static func clientInfo(_ client: ConsentV1.ClientInfo?) throws -> [UInt8] {
        let client = client ?? .init()
        for (field, value, limit) in [("app_name", client.appName, 100), ("app_version", client.appVersion, 50), ("os_name", client.osName, 50),
                                      ("os_version", client.osVersion, 50), ("device_name", client.deviceName, 100)] where value.count > limit {
            throw CallFailure.invalidArgument("client.\(field) must be at most \(limit) characters")
        }
        return client.serializedBytes()
    }

    /// Builds and signs a receipt.
    static func receipt(
        _ tx: borrowing TenantTransaction, keyring: TenantKeyring, signer: Ed25519SigningKey, kind: ConsentV1.ReceiptKind, consent: UUID,
        site: UUID, version: ConsentV1.PolicyVersion, scopes: [ConsentV1.Scope], principal: UUID, client: ConsentV1.ClientInfo?, now: Int64,
        original: UUID?
    ) throws -> ConsentV1.ConsentReceipt {
        let tenantRow = try tx.query("SELECT country_code, name_enc, legal_name_enc FROM wattline.tenants WHERE tenant_id = $1", [.uuid(tx.tenant.uuid)])[0]
        let legalName = try keyring.openText(try tenantRow.optionalBytes(2), tx, "tenants", "legal_name_enc", row: tx.tenant.bytes)
        let controller = legalName.isEmpty ? try keyring.openText(try tenantRow.bytes(1), tx, "tenants", "name_enc", row: tx.tenant.bytes) : legalName
        let app = [client?.appName, client?.appVersion].compactMap { $0 }.filter { !$0.isEmpty }.joined(separator: " ")
        let facts = ReceiptDocument.Facts(
            receiptID: UUID.v7(), kind: kind, timestampMs: now, jurisdiction: try tenantRow.string(0),
            collectionMethod: (kind == .revocation ? "electronic revocation" : "electronic signature") + " in " + (app.isEmpty ? "a Wattline client" : app),
            language: version.locale, principal: principal, controllerName: controller, policyURL: version.policyURL,
            policyID: UUID(bytes: version.policyID)!, policyVersion: version.version, policyVersionID: UUID(bytes: version.policyVersionID)!,
            policyTextSHA256: version.textSHA256, scopes: scopes, consentID: consent, tenantID: tx.tenant.uuid, siteID: site,
            originalReceiptID: original, signingKeyID: signer.keyID)
        let document = ReceiptDocument(facts)
        let canonical = document.canonical
        let signature = try signer.sign(canonical)
        return .with {
            $0.receiptID = facts.receiptID.bytes
            $0.receiptKind = kind
            $0.version = ReceiptDocument.specification
            $0.jurisdiction = facts.jurisdiction
            $0.consentTimestampMs = now
            $0.collectionMethod = facts.collectionMethod
            $0.language = facts.language
            $0.piiPrincipalID = principal.bytes
            $0.policyURL = facts.policyURL
            $0.policyID = version.policyID
            $0.policyVersion = version.version
            $0.policyVersionID = version.policyVersionID
            $0.policyTextSHA256 = version.textSHA256
            $0.scopes = scopes
            $0.consentID = consent.bytes
            $0.tenantID = tx.tenant.bytes
            $0.siteID = site.bytes
            $0.originalReceiptID = original?.bytes ?? []
            $0.canonicalEncoding = canonical
            $0.signature = signature
            $0.signingKeyID = Array(signer.keyID.utf8)
        }
    }
}
