import Foundation
import WattlineAccess
import WattlineAudit
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.consent.v1.ConsentService` (docs/privacy.md, "Consent"): operators publish policy
/// versions; a site's Responsible signs one for some scopes, after being shown its exact text;
/// Wattline attests each signature and revocation with an Ed25519-signed receipt that anyone can
/// verify offline with the published keys.
public final class ConsentService: Sendable {
    let store: Store
    let keyring: TenantKeyring
    let signer: Ed25519SigningKey

    public init(store: Store, keyring: TenantKeyring, signer: Ed25519SigningKey) {
        self.store = store
        self.keyring = keyring
        self.signer = signer
    }

    /// Publishes the signing key (once) and marks the keys before it as no longer signing.
    public static func publish(_ signer: Ed25519SigningKey, store: Store, nowMs: Int64) async throws {
        let keyID = Array(signer.keyID.utf8), raw = signer.publicKey.rawRepresentation
        try await store.platformTransaction { tx in
            try tx.query(
                "INSERT INTO wattline.receipt_keys (key_id, public_key, valid_from_ms) VALUES ($1, $2, $3) ON CONFLICT (key_id) DO NOTHING",
                [.bytea(keyID), .bytea(raw), .int64(nowMs)])
            try tx.query("UPDATE wattline.receipt_keys SET valid_until_ms = $2 WHERE key_id <> $1 AND valid_until_ms IS NULL",
                         [.bytea(keyID), .int64(nowMs)])
        }
    }

    public func register(in router: inout Router) {
        typealias S = ConsentV1.ConsentService
        router.unary(S.PublishPolicyVersion.self) { [self] request, context in try await publish(request, context) }
        router.unary(S.ListPolicyVersions.self) { [self] request, _ in try await listVersions(request) }
        router.unary(S.GetPolicyVersion.self) { [self] request, _ in try await getVersion(request) }
        router.unary(S.Sign.self) { [self] request, context in try await sign(request, context) }
        router.unary(S.Revoke.self) { [self] request, context in try await revoke(request, context) }
        router.unary(S.GetStatus.self) { [self] request, context in try await status(request, context) }
        router.unary(S.ListReceipts.self) { [self] request, context in try await listReceipts(request, context) }
        router.unary(S.GetVerificationKeys.self) { [self] _, _ in try await verificationKeys() }
    }

    // MARK: Policy versions

    func publish(_ request: ConsentV1.PublishPolicyVersionRequest, _ context: CallContext) async throws -> ConsentV1.PublishPolicyVersionResponse {
        guard case .person(let identity, _, _) = context.principal as? Principal, let publisher = UUID(uuidString: identity) else {
            throw CallFailure.permissionDenied("only a platform operator publishes policy versions")
        }
        guard (1...32).contains(request.version.count) else { throw CallFailure.invalidArgument("version must be 1 to 32 characters") }
        guard PolicyVersions.validLocale(request.locale) else { throw CallFailure.invalidArgument("locale must be a BCP 47 tag such as fr-CH") }
        guard (1...200).contains(request.title.count) else { throw CallFailure.invalidArgument("title must be 1 to 200 characters") }
        guard (1...(1 << 20)).contains(request.text.utf8.count) else { throw CallFailure.invalidArgument("text must be 1 byte to 1 MiB") }
        guard request.policyURL.hasPrefix("https://"), request.policyURL.count <= 500 else {
            throw CallFailure.invalidArgument("policy_url must be an https URL")
        }
        let scopes = try PolicyVersions.validScopes(request.scopes)
        let policy: UUID
        if request.policyID.isEmpty { policy = UUID.v7() } else {
            guard let id = UUID(bytes: request.policyID) else { throw CallFailure.invalidArgument("policy_id must be a 16-byte UUID") }
            policy = id
        }
        let id = UUID.v7()
        let digest = try sha256(Array(request.text.utf8))
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let version = try await store.transaction(tenant: AuditLog.platform) { tx in
            if !request.policyID.isEmpty,
               try tx.query("SELECT 1 FROM wattline.consent_policy_versions WHERE policy_id = $1 LIMIT 1", [.uuid(policy)]).first == nil {
                throw CallFailure.notFound("no policy \(policy.lowercased); leave policy_id empty for a new policy")
            }
            let inserted = try tx.query(
                """
                INSERT INTO wattline.consent_policy_versions (policy_version_id, policy_id, version, locale, title, text, text_sha256,
                    scopes, requires_resigning, policy_url, published_at_ms, published_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text[]::smallint[], $9, $10, $11, $12)
                ON CONFLICT (policy_id, version, locale) DO NOTHING
                RETURNING \(PolicyVersions.columns)
                """,
                [.uuid(id), .uuid(policy), .text(request.version), .text(request.locale), .text(request.title), .text(request.text),
                 .bytea(digest), PolicyVersions.scopeArray(scopes), .bool(request.requiresResigning), .text(request.policyURL),
                 .int64(now), .uuid(publisher)])
            guard let row = inserted.first else {
                throw CallFailure.alreadyExists("policy \(policy.lowercased) already has version \(request.version) in \(request.locale)")
            }
            try AuditLog.append(tx, AuditLog.success(of: context, subject: (.policyVersion, id)))
            return try PolicyVersions.read(row, withText: true)
        }
        return .with { $0.policyVersion = version }
    }

    func listVersions(_ request: ConsentV1.ListPolicyVersionsRequest) async throws -> ConsentV1.ListPolicyVersionsResponse {
        let size = request.pageSize == 0 ? 50 : Int(min(request.pageSize, 500))
        var conditions: [String] = []
        var parameters: [PGValue] = []
        if !request.policyID.isEmpty {
            guard let policy = UUID(bytes: request.policyID) else { throw CallFailure.invalidArgument("policy_id must be a 16-byte UUID") }
            parameters.append(.uuid(policy))
            conditions.append("policy_id = $\(parameters.count)")
        }
        if !request.locale.isEmpty {
            parameters.append(.text(request.locale))
            conditions.append("locale = $\(parameters.count)")
        }
        if !request.pageToken.isEmpty {
            guard let after = UUID(uuidString: request.pageToken) else { throw CallFailure.invalidArgument("page_token is not one this service gave") }
            parameters.append(.uuid(after))
            conditions.append("policy_version_id < $\(parameters.count)")
        }
        let sql = "SELECT \(PolicyVersions.columns) FROM wattline.consent_policy_versions"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")) + " ORDER BY policy_version_id DESC LIMIT \(size + 1)"
        let versions = try await store.platformTransaction { [parameters] tx in
            try tx.query(sql, parameters).rows.map { try PolicyVersions.read($0, withText: false) }
        }
        var response = ConsentV1.ListPolicyVersionsResponse()
        response.policyVersions = Array(versions.prefix(size))
        if versions.count > size, let last = response.policyVersions.last, let id = UUID(bytes: last.policyVersionID) {
            response.nextPageToken = id.lowercased
        }
        return response
    }

    func getVersion(_ request: ConsentV1.GetPolicyVersionRequest) async throws -> ConsentV1.GetPolicyVersionResponse {
        let version = try await store.platformTransaction { tx -> ConsentV1.PolicyVersion in
            let row: PGRow?
            switch request.selector {
            case .policyVersionID(let bytes)?:
                guard let id = UUID(bytes: bytes) else { throw CallFailure.invalidArgument("policy_version_id must be a 16-byte UUID") }
                row = try tx.query("SELECT \(PolicyVersions.columns) FROM wattline.consent_policy_versions WHERE policy_version_id = $1", [.uuid(id)]).first
            case .latest(let selector)?:
                guard let policy = UUID(bytes: selector.policyID) else { throw CallFailure.invalidArgument("latest.policy_id must be a 16-byte UUID") }
                row = try PolicyVersions.latest({ try tx.query($0, $1) }, policy: policy, locale: selector.locale.isEmpty ? "en" : selector.locale)
            case nil:
                throw CallFailure.invalidArgument("selector must be set: policy_version_id or latest")
            }
            guard let row else { throw CallFailure.notFound("no such policy version") }
            return try PolicyVersions.read(row, withText: true)
        }
        return .with { $0.policyVersion = version }
    }

    // MARK: Signing and revoking

    func sign(_ request: ConsentV1.SignRequest, _ context: CallContext) async throws -> ConsentV1.SignResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let person = try Self.person(context)
        guard let site = UUID(bytes: request.siteID) else { throw CallFailure.invalidArgument("site_id must be a 16-byte UUID") }
        guard let versionID = UUID(bytes: request.policyVersionID) else { throw CallFailure.invalidArgument("policy_version_id must be a 16-byte UUID") }
        guard let requestID = UUID(bytes: request.requestID) else { throw CallFailure.invalidArgument("request_id must be a 16-byte UUID") }
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
        guard let site = UUID(bytes: request.siteID) else { throw CallFailure.invalidArgument("site_id must be a 16-byte UUID") }
        guard let consent = UUID(bytes: request.consentID) else { throw CallFailure.invalidArgument("consent_id must be a 16-byte UUID") }
        guard let requestID = UUID(bytes: request.requestID) else { throw CallFailure.invalidArgument("request_id must be a 16-byte UUID") }
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

    // MARK: Status, receipts, keys

    func status(_ request: ConsentV1.GetStatusRequest, _ context: CallContext) async throws -> ConsentV1.GetStatusResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        guard let site = UUID(bytes: request.siteID) else { throw CallFailure.invalidArgument("site_id must be a 16-byte UUID") }
        let scopes = try await store.transaction(tenant: tenant) { tx in try ConsentStatus.scopes(tx, site: site) }
        return .with {
            $0.siteID = site.bytes
            $0.scopes = scopes
        }
    }

    func listReceipts(_ request: ConsentV1.ListReceiptsRequest, _ context: CallContext) async throws -> ConsentV1.ListReceiptsResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        guard let site = UUID(bytes: request.siteID) else { throw CallFailure.invalidArgument("site_id must be a 16-byte UUID") }
        let size = request.pageSize == 0 ? 50 : Int(min(request.pageSize, 500))
        let offset = request.pageToken.isEmpty ? 0 : Int(request.pageToken) ?? -1
        guard offset >= 0 else { throw CallFailure.invalidArgument("page_token is not one this service gave") }
        let receipts = try await store.transaction(tenant: tenant) { tx -> [ConsentV1.ConsentReceipt] in
            var all: [ConsentV1.ConsentReceipt] = []
            for row in try tx.query("SELECT receipt, revocation_receipt FROM wattline.consents WHERE site_id = $1", [.uuid(site)]).rows {
                all.append(try ConsentV1.ConsentReceipt(serializedBytes: try row.bytes(0)))
                if let revocation = try row.optionalBytes(1) { all.append(try ConsentV1.ConsentReceipt(serializedBytes: revocation)) }
            }
            return all.filter { request.receiptKind == .unspecified || $0.receiptKind == request.receiptKind }
                .sorted { $0.consentTimestampMs != $1.consentTimestampMs
                    ? $0.consentTimestampMs > $1.consentTimestampMs : $1.receiptID.lexicographicallyPrecedes($0.receiptID) }
        }
        var response = ConsentV1.ListReceiptsResponse()
        response.receipts = Array(receipts.dropFirst(offset).prefix(size))
        if receipts.count > offset + size { response.nextPageToken = String(offset + size) }
        return response
    }

    func verificationKeys() async throws -> ConsentV1.GetVerificationKeysResponse {
        let keys = try await store.platformTransaction { tx in
            try tx.query("SELECT key_id, public_key, valid_from_ms, valid_until_ms FROM wattline.receipt_keys ORDER BY valid_from_ms DESC").rows.map { row in
                ConsentV1.VerificationKey.with {
                    $0.keyID = (try? row.bytes(0)) ?? []
                    $0.algorithm = .ed25519
                    $0.publicKey = (try? row.bytes(1)) ?? []
                    $0.validFromMs = (try? row.int64(2)) ?? 0
                    $0.validUntilMs = (try? row.optionalInt64(3)).flatMap { $0 } ?? 0
                }
            }
        }
        return .with { $0.keys = keys }
    }

    // MARK: Helpers

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
