import WattlineCrypto
import WattlineWire

/// Authenticates every call and applies `AccessPolicy` before its handler runs: a bearer access
/// token (people, integrations) or the connection's client certificate (loggers) becomes the
/// call's `Principal`; the call's tenant is the one the request names (`AccessPolicy`), which a
/// credential bound to a tenant (loggers, integrations) must match, or else the credential's.
///
/// Answers: a method requiring credentials called without valid ones is UNAUTHENTICATED; valid
/// credentials without the declared permission are PERMISSION_DENIED; a method with no
/// declaration is denied to everybody.
public struct AccessInterceptor: ServerInterceptor {
    /// The `scope` claim of tokens issued to integrations (client credentials), not people.
    public static let integrationScope = "integration"

    private let verifier: AccessTokenVerifier
    private let directory: any CredentialDirectory
    private let principals = PrincipalCache()
    private let auditor: (any CallAuditor)?

    public init(verifier: AccessTokenVerifier, directory: any CredentialDirectory, auditor: (any CallAuditor)? = nil) {
        self.verifier = verifier
        self.directory = directory
        self.auditor = auditor
    }

    public func intercept<Result: Sendable>(
        _ context: CallContext, next: @Sendable (CallContext) async throws -> Result
    ) async throws -> Result {
        guard let auditor, auditor.audits(context.method) else {
            var decided = Decided()
            return try await next(try await authorize(context, &decided))
        }
        // Audited: whatever happens (refused, failed, succeeded) is recorded with what is known.
        var decided = Decided()
        do {
            let result = try await next(try await authorize(context, &decided))
            await auditor.record(AuditedCall(context: context, principal: decided.principal, tenantID: decided.tenantID, response: result, failure: nil))
            return result
        } catch {
            let failure = error as? CallFailure ?? CallFailure(code: 13, "internal error")
            await auditor.record(AuditedCall(context: context, principal: decided.principal, tenantID: decided.tenantID, response: nil, failure: failure))
            throw error
        }
    }

    /// What the decision has established so far.
    private struct Decided {
        var principal = Principal.anonymous
        var tenantID: String?
    }

    /// The context with its principal and tenant, or the refusal.
    private func authorize(_ context: CallContext, _ decided: inout Decided) async throws -> CallContext {
        guard let permission = AccessPolicy.permissions[context.method] else {
            throw CallFailure.permissionDenied("\(context.method) declares no permission")
        }
        let requirements = permission.requirements
        let publicMethod = requirements.contains(.anyone)
        let (principal, credentialTenant) = try await authenticate(context, lenient: publicMethod)
        (decided.principal, decided.tenantID) = (principal, credentialTenant)
        if principal == .anonymous, !publicMethod {
            throw CallFailure.unauthenticated("this method needs credentials")
        }
        var tenantID = credentialTenant
        var siteID: String?
        if let tenantOf = permission.tenantOf, let request = context.request {
            guard let named = tenantOf(request).flatMap(UUIDText.init(bytes:)) else {
                throw CallFailure.invalidArgument("tenant_id must be a 16-byte UUID")
            }
            // A credential bound to one tenant (logger, integration) acts in no other.
            if let credentialTenant, credentialTenant != named.text {
                throw CallFailure.permissionDenied("this credential acts in another tenant")
            }
            tenantID = named.text
            // A refused call of a known caller is recorded in the chain of the tenant it named;
            // an anonymous one in the platform's (no stranger can fill a tenant's chain).
            if principal != .anonymous { decided.tenantID = named.text }
            siteID = permission.siteOf.flatMap { $0(request) }.flatMap(UUIDText.init(bytes:))?.text
        }
        guard requirements.contains(where: { $0.isMet(by: principal, tenantID: tenantID, siteID: siteID) }) else {
            throw CallFailure.permissionDenied("not allowed to call \(context.method)" + (tenantID.map { " in tenant \($0)" } ?? ""))
        }
        decided.tenantID = tenantID
        var context = context
        context.principal = principal
        context.tenantID = tenantID
        return context
    }

    /// The caller and its tenant. On a public method a bad token counts as none (a client signing
    /// in again with a stale token must not be locked out); elsewhere it is UNAUTHENTICATED.
    private func authenticate(_ context: CallContext, lenient: Bool) async throws -> (Principal, String?) {
        if let token = Self.bearerToken(context.authorization) {
            if token.hasPrefix(LoggerSecret.prefix) {
                guard let logger = try await directory.logger(secretSHA256: try sha256(Array(token.utf8))) else {
                    if lenient { return (.anonymous, nil) }
                    throw CallFailure.unauthenticated("this API secret belongs to no active logger")
                }
                return (logger.principal, logger.tenantID)
            }
            do {
                let known = try principal(of: token)
                guard try await !directory.isSessionRevoked(known.sessionID) else {
                    throw CallFailure.unauthenticated("the session has ended; sign in again")
                }
                return (known.principal, known.tenantID)
            } catch let error as TokenError {
                if lenient { return (.anonymous, nil) }
                throw CallFailure.unauthenticated(Self.explain(error))
            } catch let failure as CallFailure {
                if lenient { return (.anonymous, nil) }
                throw failure
            }
        }
        if let fingerprint = context.peer.certificateSHA256 {
            guard let logger = try await directory.logger(certificateSHA256: fingerprint) else {
                if lenient { return (.anonymous, nil) }
                throw CallFailure.unauthenticated("this client certificate belongs to no active logger")
            }
            return (logger.principal, logger.tenantID)
        }
        return (.anonymous, nil)
    }

    /// The principal a token stands for: remembered, or verified now and remembered.
    private func principal(of token: String) throws(TokenError) -> PrincipalCache.Entry {
        let now = UnixTime.now()
        let version = verifier.keyRingVersion
        if let known = principals.entry(for: token, now: now, leeway: verifier.leewayInSeconds, version: version) {
            return known
        }
        let claims = try verifier.verify(token, now: now)
        let grants = Grants(roleStrings: claims.roles)
        let entry = PrincipalCache.Entry(
            token: token,
            principal: claims.scope == Self.integrationScope
                ? .integration(credentialID: claims.subject, grants: grants)
                : .person(identityID: claims.subject, sessionID: claims.sessionID, grants: grants),
            tenantID: claims.tenantID, sessionID: claims.sessionID, expiresAt: claims.expiresAt, keyRingVersion: version)
        principals.insert(entry)
        return entry
    }

    /// "Bearer <token>" or the bare token; nil when there is none.
    static func bearerToken(_ authorization: String) -> String? {
        var value = Substring(authorization)
        if value.utf8.count > 7, value.utf8.prefix(7).map({ $0 | 0x20 }).elementsEqual("bearer ".utf8) {
            value = value.dropFirst(7)  // the scheme is case-insensitive; the token is not touched
        }
        value = value.drop { $0 == " " }
        return value.isEmpty ? nil : String(value)
    }

    /// Why a token was refused, without echoing it.
    static func explain(_ error: TokenError) -> String {
        switch error {
        case .expired: "the access token has expired; refresh it"
        case .notYetValid: "the access token is not valid yet"
        case .badSignature, .malformed: "the access token is not valid"
        case .unknownKeyID: "the access token was signed with an unknown key"
        case .wrongAudience, .wrongIssuer: "the access token is not for this service"
        }
    }
}

extension LoggerIdentity {
    var principal: Principal {
        .logger(loggerID: loggerID, siteID: siteID, tenantID: tenantID, credentialID: credentialID)
    }
}
