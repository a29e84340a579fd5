import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.ims.v1.IntegrationCredentialService`: client credentials of third-party
/// integrations and their exchange for access tokens (README.md, Credentials).
///
/// A credential acts in one tenant with one role (viewer or technician). Its secret ("wlcs_" and
/// 43 base64url characters, 256 random bits) is in the issuing response only; the store keeps its
/// SHA-256. ExchangeClientCredentials answers every failure (unknown id, wrong secret, revoked,
/// expired) with the same UNAUTHENTICATED, and tokens it issues name the credential as subject
/// and session, so revoking it ends them (`CredentialRegistry.integrationRevoked`).
public final class IntegrationCredentialService: Sendable {
    /// The one answer of every failed exchange.
    public static let exchangeFailedMessage = "unknown client id or wrong client secret"

    let store: Store
    let keyring: TenantKeyring
    let registry: CredentialRegistry
    let issuer: AccessTokenIssuer
    let sourceThrottle: FailureThrottle
    let credentialThrottle: FailureThrottle

    /// - Parameters:
    ///   - issuer: signs the integrations' access tokens (the IMS's issuer: same key ring).
    ///   - failuresPerSource, failuresPerCredential: failed exchanges per minute before
    ///     RESOURCE_EXHAUSTED for the rest of that minute.
    public init(
        store: Store, keyring: TenantKeyring, registry: CredentialRegistry, issuer: AccessTokenIssuer,
        failuresPerSource: Int = 30, failuresPerCredential: Int = 30
    ) {
        self.store = store
        self.keyring = keyring
        self.registry = registry
        self.issuer = issuer
        self.sourceThrottle = FailureThrottle(limit: failuresPerSource, window: .seconds(60))
        self.credentialThrottle = FailureThrottle(limit: failuresPerCredential, window: .seconds(60))
    }

    public func register(in router: inout Router) {
        router.unary(ImsV1.IntegrationCredentialService.IssueIntegrationCredential.self) { [self] request, context in
            try await issueCredential(request, context)
        }
        router.unary(ImsV1.IntegrationCredentialService.ListIntegrationCredentials.self) { [self] request, context in
            try await listCredentials(request, context)
        }
        router.unary(ImsV1.IntegrationCredentialService.RevokeIntegrationCredential.self) { [self] request, context in
            try await revokeCredential(request, context)
        }
        router.unary(ImsV1.IntegrationCredentialService.ExchangeClientCredentials.self) { [self] request, context in
            try await exchange(request, context)
        }
    }

    // MARK: Issue, list, revoke

    func issueCredential(
        _ request: ImsV1.IssueIntegrationCredentialRequest, _ context: CallContext
    ) async throws -> ImsV1.IssueIntegrationCredentialResponse {
        let tenant = try RequestID.tenant(context)
        try TextRules.check(request.name, "name", min: 1, max: 100)
        let role: TenantRole
        switch request.role {
        case .viewer: role = .viewer
        case .technician: role = .technician
        default: throw CallFailure.invalidArgument("role must be ROLE_VIEWER or ROLE_TECHNICIAN")
        }
        let now = Clock.nowMs()
        guard request.expiresAtMs == 0 || request.expiresAtMs > now else {
            throw CallFailure.invalidArgument("expires_at_ms must be 0 (never) or in the future")
        }
        let createdBy: UUID? = if case .person(let identityID, _, _)? = context.principal as? Principal {
            UUID(uuidString: identityID)
        } else {
            nil
        }
        let secret = try IssuedSecret.generate(prefix: IssuedSecret.integrationPrefix)
        let id = UUID.v7(now: now)
        let keyring = keyring
        let name = request.name
        let expiresAt: PGValue = request.expiresAtMs == 0 ? .null : .timestampMs(request.expiresAtMs)
        let credential = try await store.transaction(tenant: tenant) { tx in
            let label = try keyring.seal(Array(name.utf8), tx, table: "credentials", column: "description_enc", row: id.bytes)
            let row = try tx.query("""
                INSERT INTO wattline.credentials
                    (tenant_id, credential_id, kind, secret_hash, secret_prefix, role, description_enc, created_by, created_at, expires_at)
                VALUES ($1, $2, 'integration_secret', $3, $4, $5, $6, $7, $8, $9) RETURNING \(CredentialRecord.columns)
                """, [.uuid(tx.tenant.uuid), .uuid(id), .bytea(secret.sha256), .text(secret.displayPrefix), .text(role.name),
                      .bytea(label), createdBy.map { .uuid($0) } ?? .null, .timestampMs(now), expiresAt])[0]
            return try CredentialRecord(row: row).integrationProto(name: name)
        }
        var response = ImsV1.IssueIntegrationCredentialResponse()
        response.credential = credential
        response.clientSecret = secret.value
        return response
    }

    /// Newest first (ids are UUIDv7, so by id); the page token is the last id, base64url.
    func listCredentials(
        _ request: ImsV1.ListIntegrationCredentialsRequest, _ context: CallContext
    ) async throws -> ImsV1.ListIntegrationCredentialsResponse {
        let tenant = try RequestID.tenant(context)
        let limit = try PageSize.resolve(request.pageSize)
        let after = try Self.pagePosition(request.pageToken)
        let now = Clock.nowMs()
        let includeRevoked = request.includeRevoked
        let keyring = keyring
        let (page, more) = try await store.transaction(tenant: tenant) { tx in
            let rows = try tx.query("""
                SELECT \(CredentialRecord.columns) FROM wattline.credentials
                WHERE kind = 'integration_secret' AND ($1::uuid IS NULL OR credential_id < $1)
                  AND ($2 OR (revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)))
                ORDER BY credential_id DESC LIMIT $4
                """, [after.map { .uuid($0) } ?? .null, .bool(includeRevoked), .timestampMs(now), .int64(Int64(limit + 1))]).rows
            var page: [(CredentialRecord, String)] = []
            for row in rows.prefix(limit) {
                let record = try CredentialRecord(row: row)
                page.append((record, try record.integrationName(tx, keyring: keyring)))
            }
            return (page.map { $0.0.integrationProto(name: $0.1) }, rows.count > limit)
        }
        var response = ImsV1.ListIntegrationCredentialsResponse()
        response.credentials = page
        if more, let last = page.last { response.nextPageToken = Base64URL.encode(last.credentialID) }
        return response
    }

    private static func pagePosition(_ token: String) throws -> UUID? {
        guard !token.isEmpty else { return nil }
        guard token.utf8.count <= 64, let bytes = Base64URL.decode(token), let id = UUID(bytes: bytes) else {
            throw CallFailure.invalidArgument("page_token is not one this service returned")
        }
        return id
    }

    func revokeCredential(
        _ request: ImsV1.RevokeIntegrationCredentialRequest, _ context: CallContext
    ) async throws -> ImsV1.RevokeIntegrationCredentialResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.credentialID, "credential_id")
        let now = Clock.nowMs()
        let keyring = keyring
        let credential = try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query("""
                UPDATE wattline.credentials SET revoked_at = coalesce(revoked_at, $2)
                WHERE credential_id = $1 AND kind = 'integration_secret' RETURNING \(CredentialRecord.columns)
                """, [.uuid(id), .timestampMs(now)]).first
            else { throw CallFailure.notFound("no such integration credential") }
            let record = try CredentialRecord(row: row)
            return record.integrationProto(name: try record.integrationName(tx, keyring: keyring))
        }
        registry.integrationRevokedHere(id)
        var response = ImsV1.RevokeIntegrationCredentialResponse()
        response.credential = credential
        return response
    }

    // MARK: Exchange

    func exchange(
        _ request: ImsV1.ExchangeClientCredentialsRequest, _ context: CallContext
    ) async throws -> ImsV1.ExchangeClientCredentialsResponse {
        let source = SourceKey.of(context.peer.remoteAddress).map { "source:" + $0 }
        let claimed = UUID(bytes: request.credentialID)
        let credentialKey = claimed.map { "credential:" + $0.lowercased }
        for key in [source, credentialKey].compactMap({ $0 }) where sourceThrottle.isThrottled(key) || credentialThrottle.isThrottled(key) {
            throw CallFailure.resourceExhausted("too many failed exchanges; try again in a minute")
        }
        let now = Clock.nowMs()
        guard let granted = try await verify(request, claimed: claimed, now: now) else {
            if let source { sourceThrottle.recordFailure(source) }
            if let credentialKey { credentialThrottle.recordFailure(credentialKey) }
            throw CallFailure.unauthenticated(Self.exchangeFailedMessage)
        }
        let credentialID = granted.id.lowercased
        let tenantID = granted.tenant.lowercased
        let token = try issuer.issue(
            subject: credentialID, sessionID: credentialID, tenantID: tenantID,
            roles: Grants(tenantRoles: [tenantID: granted.role]).roleStrings,
            scope: AccessInterceptor.integrationScope, now: now / 1_000)
        var response = ImsV1.ExchangeClientCredentialsResponse()
        response.accessToken = token.value
        response.accessTokenExpiresAtMs = token.expiresAtMilliseconds
        return response
    }

    private struct Granted: Sendable {
        let id: UUID
        let tenant: UUID
        let role: TenantRole
    }

    /// The credential the secret belongs to when it is the claimed one and works; nil for every
    /// kind of failure alike. The secret is found by its hash (across tenants, only that row is
    /// visible), and the claimed id is compared in constant time.
    private func verify(_ request: ImsV1.ExchangeClientCredentialsRequest, claimed: UUID?, now: Int64) async throws -> Granted? {
        let secret = request.clientSecret
        // A malformed secret still costs a hash, so that its answer takes no less time.
        let hash = try IssuedSecret.hash(secret.utf8.count <= 256 ? secret : "")
        let wellFormed = IssuedSecret.isWellFormed(secret, prefix: IssuedSecret.integrationPrefix)
        let found = try await store.lookup(.credential(sha256: hash)) { tx in
            try tx.query("""
                SELECT credential_id, tenant_id, role, revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                FROM wattline.credentials WHERE secret_hash = $1 AND kind = 'integration_secret'
                """, [.bytea(hash), .timestampMs(now)]).first.map {
                (try $0.uuid(0), try $0.uuid(1), try $0.optionalString(2), try $0.bool(3))
            }
        }
        let presentedID = claimed?.bytes ?? [UInt8](repeating: 0, count: 16)
        guard let (id, tenant, roleName, usable) = found else { return nil }
        let sameID = ConstantTime.equals(id.bytes, presentedID)
        guard wellFormed, sameID, claimed != nil, usable, let roleName, let role = TenantRole(name: roleName),
              role == .viewer || role == .technician
        else { return nil }
        // Record the use (at most once a minute) and make sure it was not revoked meanwhile.
        let interval = CredentialRegistry.usageWriteInterval
        let stillUsable = try await store.transaction(tenant: TenantID(tenant)) { tx in
            try tx.query(
                "UPDATE wattline.credentials SET last_used_at = $2 WHERE credential_id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                [.uuid(id), .timestampMs(now), .timestampMs(now - interval)])
            return try tx.query(
                "SELECT 1 FROM wattline.credentials WHERE credential_id = $1 AND revoked_at IS NULL", [.uuid(id)]).first != nil
        }
        return stillUsable ? Granted(id: id, tenant: tenant, role: role) : nil
    }
}
