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
            let id = try requiredID(request.policyID, "policy_id")
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
            let policy = try requiredID(request.policyID, "policy_id")
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
                let id = try requiredID(bytes, "policy_version_id")
                row = try tx.query("SELECT \(PolicyVersions.columns) FROM wattline.consent_policy_versions WHERE policy_version_id = $1", [.uuid(id)]).first
            case .latest(let selector)?:
                let policy = try requiredID(selector.policyID, "latest.policy_id")
                row = try PolicyVersions.latest({ try tx.query($0, $1) }, policy: policy, locale: selector.locale.isEmpty ? "en" : selector.locale)
            case nil:
                throw CallFailure.invalidArgument("selector must be set: policy_version_id or latest")
            }
            guard let row else { throw CallFailure.notFound("no such policy version") }
            return try PolicyVersions.read(row, withText: true)
        }
        return .with { $0.policyVersion = version }
    }

    // MARK: Status, receipts, keys

    func status(_ request: ConsentV1.GetStatusRequest, _ context: CallContext) async throws -> ConsentV1.GetStatusResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let site = try requiredID(request.siteID, "site_id")
        let scopes = try await store.transaction(tenant: tenant) { tx in try ConsentStatus.scopes(tx, site: site) }
        return .with {
            $0.siteID = site.bytes
            $0.scopes = scopes
        }
    }

    func listReceipts(_ request: ConsentV1.ListReceiptsRequest, _ context: CallContext) async throws -> ConsentV1.ListReceiptsResponse {
        let tenant = TenantID(try context.scopedTenant(named: request.tenantID))
        let site = try requiredID(request.siteID, "site_id")
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
}
