import Foundation
import Synchronization
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.ims.v1.ImsService`: sign-in and sessions (Login, Refresh, Logout, LogoutEverywhere,
/// ListSessions, RevokeSession, WhoAmI; docs/identity.md, Sessions), invitations
/// (`ImsService+Invitations.swift`), passwords (`+Passwords`) and profile (`+Profile`).
/// Memberships live on the tenancy side: the service reads and grants them through `tenants`.
///
/// The store must be connected as the identity service's role (`wattline_ims`, see
/// `DevDatabase.imsConninfo`), never as the server's: `open` checks that the role sees the `ims`
/// schema and not the `wattline` one.
public final class ImsService: Sendable {
    let db: ImsStore
    let issuer: AccessTokenIssuer
    let verifier: AccessTokenVerifier
    let hasher: PasswordHasher
    let configuration: ImsConfiguration
    let hashing: HashWorkers
    let revocations: SessionRevocationCache
    let tenants: any TenantDirectory
    let notifier: any Notifier
    private let lastSweep = Atomic<Int64>(0)

    /// The message of every failed sign-in: unknown address, wrong password, locked address.
    public static let signInFailedMessage = "wrong e-mail address or password"
    /// The message of every refused refresh token.
    public static let refreshFailedMessage = "the refresh token is not valid"

    /// - Parameters:
    ///   - store: a store connected as `wattline_ims` (see `open`).
    ///   - issuer: signs access tokens (at most 15 minutes).
    ///   - verifier: checks bearer tokens for the methods that need a signed-in person.
    ///   - tenants: memberships and site responsibilities (the tenancy side), for access tokens and invitations.
    ///   - notifier: delivers invitation and password-reset tokens.
    public init(
        store: Store, keyring: IMSKeyring, issuer: AccessTokenIssuer, verifier: AccessTokenVerifier,
        tenants: any TenantDirectory, notifier: any Notifier,
        hasher: PasswordHasher = PasswordHasher(), configuration: ImsConfiguration = ImsConfiguration()
    ) {
        self.db = ImsStore(store: store, keyring: keyring)
        self.tenants = tenants
        self.notifier = notifier
        self.issuer = issuer
        self.verifier = verifier
        self.hasher = hasher
        self.configuration = configuration
        self.hashing = HashWorkers(threads: max(1, configuration.maxConcurrentHashes), maxWaiting: configuration.maxWaitingHashes)
        self.revocations = SessionRevocationCache(
            lifetime: configuration.revocationCacheLifetime, capacity: configuration.revocationCacheCapacity)
    }

    /// Opens a store on `imsConninfo` (the `wattline_ims` role), checks the role, and builds the service.
    public static func open(
        imsConninfo: String, master: MasterKey, issuer: AccessTokenIssuer, verifier: AccessTokenVerifier,
        tenants: any TenantDirectory, notifier: any Notifier, hasher: PasswordHasher = PasswordHasher(), configuration: ImsConfiguration = ImsConfiguration(), poolSize: Int = 2
    ) async throws -> ImsService {
        let store = try await Store.open(.init(conninfo: imsConninfo, poolSize: poolSize))
        do {
            try await checkRole(store)
        } catch {
            store.shutdown()
            throw error
        }
        return ImsService(store: store, keyring: IMSKeyring(master: master), issuer: issuer, verifier: verifier,
                          tenants: tenants, notifier: notifier, hasher: hasher, configuration: configuration)
    }

    /// Refuses a store whose role can read the functional schema (the server's role, say) or
    /// cannot use the `ims` schema.
    public static func checkRole(_ store: Store) async throws {
        let (ims, app) = try await store.pool.run { connection in
            let row = try connection.query(
                "SELECT has_schema_privilege('ims', 'USAGE'), has_schema_privilege('wattline', 'USAGE')")[0]
            return (try row.bool(0), try row.bool(1))
        }
        guard ims, !app else {
            throw PGError(.insufficientPrivilege, "the identity service must connect as its own role (wattline_ims), which sees only the ims schema")
        }
    }

    /// Stops the hashing threads (the store is the caller's).
    public func shutdown() { hashing.shutdown() }

    public func register(in router: inout Router) {
        router.unary(ImsV1.ImsService.Login.self) { [self] request, context in
            try await login(request, context)
        }
        router.unary(ImsV1.ImsService.Refresh.self) { [self] request, context in
            try await refresh(request, context)
        }
        router.unary(ImsV1.ImsService.Logout.self) { [self] request, context in
            try await logout(request, context)
        }
        router.unary(ImsV1.ImsService.LogoutEverywhere.self) { [self] request, context in
            try await logoutEverywhere(request, context)
        }
        router.unary(ImsV1.ImsService.ListSessions.self) { [self] request, context in
            try await listSessions(request, context)
        }
        router.unary(ImsV1.ImsService.RevokeSession.self) { [self] request, context in
            try await revokeSession(request, context)
        }
        router.unary(ImsV1.ImsService.WhoAmI.self) { [self] request, context in
            try await whoAmI(request, context)
        }
        registerInvitations(in: &router)
        registerPasswords(in: &router)
        registerProfile(in: &router)
    }

    /// The people directory the tenancy side needs, over this service's store.
    public var peopleDirectory: ImsPeopleDirectory { ImsPeopleDirectory(db) }

    // MARK: Login

    func login(_ request: ImsV1.LoginRequest, _ context: CallContext) async throws -> ImsV1.LoginResponse {
        let email = Self.normalizeEmail(request.email)
        guard !email.isEmpty, email.unicodeScalars.count <= 254 else {
            throw CallFailure.invalidArgument("an e-mail address of 1 to 254 characters is required")
        }
        // NFC before every verify, as before every hash (docs/identity.md, Passwords).
        let password = request.password.precomposedStringWithCanonicalMapping
        guard !password.isEmpty, password.utf8.count <= PasswordHasher.maximumPasswordByteCount else {
            throw CallFailure.invalidArgument("a password of 1 to 256 characters is required")
        }
        if let client = request.client { try Self.validate(client) }

        let policy = configuration.throttle
        let sourceIP = SourceAddress.ip(fromRemoteAddress: context.peer.remoteAddress)
        let now = Self.nowMs()
        let lookup = try await db.lookupForLogin(
            normalizedEmail: email, sourceKey: sourceIP.map(SourceAddress.throttleKey), now: now)
        if lookup.sourceLockedUntil != nil, policy.sourceLockAnswer == .resourceExhausted {
            throw CallFailure.resourceExhausted("too many failed sign-ins from this address; try again later")
        }
        let locked = lookup.accountLockedUntil != nil || lookup.sourceLockedUntil != nil
        let identity = lookup.identity
        let hasher = hasher
        // The same work on every path: a real verification, or a dummy one with the current
        // parameters for an unknown address, an identity without a password, a locked subject.
        let verification = try await hash {
            if !locked, let stored = identity?.passwordHash { return hasher.verify(password, against: stored) }
            hasher.dummyVerify(password)
            return PasswordHasher.Verification.invalid
        }
        guard case .valid(let needsRehash) = verification, let identity, let stored = identity.passwordHash else {
            var delay = policy.delay(afterFailures: policy.lockoutThreshold)
            if !locked {
                let failures = try await db.recordFailure(
                    account: lookup.accountSubject, source: lookup.sourceSubject, policy: policy, now: now)
                delay = policy.delay(afterFailures: failures)
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            throw CallFailure.unauthenticated(Self.signInFailedMessage)
        }
        var rehash: (old: String, new: String)?
        if needsRehash, let fresh = try? await hash({ try hasher.hash(password) }) {
            rehash = (stored, fresh)
        }
        let session = try await db.openSession(
            identityID: identity.identityID, accountSubject: lookup.accountSubject, rehash: rehash, client: request.client,
            sourceIP: sourceIP, now: now, lifetime: configuration.sessionLifetime)
        revocations.record(session.sessionID, ended: false, sessionExpiresInMs: session.expiresAt - now)
        let token = try await issueAccessToken(identityID: identity.identityID, sessionID: session.sessionID,
                                               platformOperator: identity.platformOperator, now: now)
        var response = ImsV1.LoginResponse()
        response.accessToken = token.value
        response.accessTokenExpiresAtMs = token.expiresAtMilliseconds
        response.refreshToken = session.refreshToken
        response.refreshTokenExpiresAtMs = session.expiresAt
        response.sessionID = session.sessionID.bytes
        response.identityID = identity.identityID.bytes
        return response
    }

    // MARK: Refresh

    func refresh(_ request: ImsV1.RefreshRequest, _ context: CallContext) async throws -> ImsV1.RefreshResponse {
        guard let tokenHash = try RefreshToken.hash(request.refreshToken) else {
            throw CallFailure.unauthenticated(Self.refreshFailedMessage)
        }
        let now = Self.nowMs()
        let sourceIP = SourceAddress.ip(fromRemoteAddress: context.peer.remoteAddress)
        let outcome = try await db.refresh(tokenHash: tokenHash, sourceIP: sourceIP, now: now, grace: configuration.refreshGraceWindow)
        switch outcome {
        case .rotated(let session, let identityID, let platformOperator),
             .replayed(let session, let identityID, let platformOperator):
            if case .rotated = outcome { await sweepSuccessorsNow(now) }
            let token = try await issueAccessToken(identityID: identityID, sessionID: session.sessionID,
                                                   platformOperator: platformOperator, now: now)
            var response = ImsV1.RefreshResponse()
            response.accessToken = token.value
            response.accessTokenExpiresAtMs = token.expiresAtMilliseconds
            response.refreshToken = session.refreshToken
            response.refreshTokenExpiresAtMs = session.expiresAt
            response.sessionID = session.sessionID.bytes
            return response
        case .reuseDetected(let sessionID):
            revocations.recordEnded([sessionID])
            throw CallFailure.unauthenticated(Self.refreshFailedMessage)
        case .invalid:
            throw CallFailure.unauthenticated(Self.refreshFailedMessage)
        }
    }

    /// At most once per grace window, clears sealed successors whose window has passed.
    private func sweepSuccessorsNow(_ now: Int64) async {
        let grace = configuration.refreshGraceWindow.wholeMilliseconds
        let last = lastSweep.load(ordering: .relaxed)
        guard now - last >= max(grace, 1_000),
              lastSweep.compareExchange(expected: last, desired: now, ordering: .relaxed).exchanged else { return }
        try? await db.sweepSuccessors(before: now - grace)
    }

    // MARK: Sessions of the caller

    func logout(_ request: ImsV1.LogoutRequest, _ context: CallContext) async throws -> ImsV1.LogoutResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, sessionID) = try person.ids()
        _ = try await db.revokeSession(sessionID, of: identityID, reason: "logout", now: Self.nowMs())
        revocations.recordEnded([sessionID])
        return ImsV1.LogoutResponse()
    }

    func logoutEverywhere(_ request: ImsV1.LogoutEverywhereRequest, _ context: CallContext) async throws -> ImsV1.LogoutEverywhereResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, sessionID) = try person.ids()
        let ended = try await db.revokeAllSessions(of: identityID, keeping: request.keepCurrent ? sessionID : nil, now: Self.nowMs())
        revocations.recordEnded(ended)
        var response = ImsV1.LogoutEverywhereResponse()
        response.revokedSessions = UInt32(ended.count)
        return response
    }

    func listSessions(_ request: ImsV1.ListSessionsRequest, _ context: CallContext) async throws -> ImsV1.ListSessionsResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, sessionID) = try person.ids()
        guard request.pageSize <= 500 else { throw CallFailure.invalidArgument("page_size must be at most 500") }
        let limit = request.pageSize == 0 ? 50 : Int(request.pageSize)
        var after: (lastUsed: Int64, sessionID: UUID)?
        if !request.pageToken.isEmpty {
            guard let position = Self.decodePageToken(request.pageToken) else {
                throw CallFailure.invalidArgument("page_token is not one this service returned")
            }
            after = position
        }
        let listing = try await db.listSessions(of: identityID, after: after, limit: limit, now: Self.nowMs())
        var response = ImsV1.ListSessionsResponse()
        response.sessions = listing.sessions.map { session in
            var session = session
            session.current = session.sessionID == sessionID.bytes
            return session
        }
        if let next = listing.next { response.nextPageToken = Self.encodePageToken(next) }
        return response
    }

    func revokeSession(_ request: ImsV1.RevokeSessionRequest, _ context: CallContext) async throws -> ImsV1.RevokeSessionResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, _) = try person.ids()
        guard let target = UUID(bytes: request.sessionID) else {
            throw CallFailure.invalidArgument("session_id must be 16 bytes")
        }
        guard try await db.revokeSession(target, of: identityID, reason: "revoked", now: Self.nowMs()) else {
            throw CallFailure(code: 5, "no such open session of the caller")
        }
        revocations.recordEnded([target])
        return ImsV1.RevokeSessionResponse()
    }

    func whoAmI(_ request: ImsV1.WhoAmIRequest, _ context: CallContext) async throws -> ImsV1.WhoAmIResponse {
        // TODO(issue "Identity and access"): integrations (PrincipalKind.INTEGRATION) once
        // client credentials exist; until then only people get an answer.
        let person = try await authenticatedPerson(context)
        let (identityID, sessionID) = try person.ids()
        guard let record = try await db.person(identityID) else {
            throw CallFailure.unauthenticated("the identity of this token no longer exists")
        }
        var response = ImsV1.WhoAmIResponse()
        response.principalKind = .person
        response.identityID = identityID.bytes
        response.email = record.email
        response.displayName = record.profile?.displayName ?? ""
        // Tenant and site roles as the token carries them (see `roles(identityID:platformOperator:)`):
        // what this call is authorized with, not what a later sign-in would get.
        response.tenantRoles = person.grants.tenantRoles.sorted { $0.key < $1.key }.compactMap { tenant, role in
            guard let tenantID = UUID(uuidString: tenant) else { return nil }
            var assignment = ImsV1.TenantRoleAssignment()
            assignment.tenantID = tenantID.bytes
            assignment.role = ImsV1.Role(rawValue: Int32(role.rawValue))
            return assignment
        }
        response.siteResponsibilities = person.grants.responsibleSites.sorted { $0.key < $1.key }.compactMap { site, tenant in
            guard let siteID = UUID(uuidString: site), let tenantID = UUID(uuidString: tenant) else { return nil }
            var responsibility = ImsV1.SiteResponsibility()
            responsibility.siteID = siteID.bytes
            responsibility.tenantID = tenantID.bytes
            return responsibility
        }
        response.platformOperator = record.platformOperator
        response.sessionID = sessionID.bytes
        response.accessTokenExpiresAtMs = person.accessTokenExpiresAtMs ?? 0
        return response
    }

    // MARK: Revocation, for the authentication interceptor

    /// Whether access tokens of `sessionID` (a token's `sid`) must be refused: the session was
    /// ended (logout, revocation, refresh-token reuse), has expired, or does not exist. Answers
    /// are cached briefly (`revocationCacheLifetime`); revocations through this instance count at once.
    public func isSessionRevoked(_ sessionID: String) async throws -> Bool {
        guard let id = UUID(uuidString: sessionID) else { return true }
        if let cached = revocations.lookup(id) { return cached }
        let now = Self.nowMs()
        let (ended, expiresAt) = try await db.isSessionEnded(id, now: now)
        revocations.record(id, ended: ended, sessionExpiresInMs: expiresAt.map { $0 - now })
        return ended
    }

    // MARK: Helpers

    /// Access tokens name the session (`sid`) and carry the grants as role strings.
    func issueAccessToken(identityID: UUID, sessionID: UUID, platformOperator: Bool, now: Int64) async throws -> AccessToken {
        let roles = try await roles(identityID: identityID, platformOperator: platformOperator)
        return try issuer.issue(subject: identityID.lowercased, sessionID: sessionID.lowercased, roles: roles, now: now / 1_000)
    }

    /// The person's grants now: tenant roles and site responsibilities from the tenancy side
    /// (`TenantDirectory.roleStrings`, read at every sign-in and refresh, so a change reaches the
    /// person within one access-token lifetime) and "platform:operator" from `ims.identities`.
    /// Passed through `Grants`, so a malformed string from the directory is dropped rather than
    /// signed, and the strongest role per tenant is kept.
    func roles(identityID: UUID, platformOperator: Bool) async throws -> [String] {
        var grants = Grants(roleStrings: try await tenants.roleStrings(ofIdentity: identityID.lowercased))
        grants.platformOperator = platformOperator
        return grants.roleStrings
    }

    /// Runs argon2id work on the hashing threads; a full queue is RESOURCE_EXHAUSTED.
    func hash<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        do {
            return try await hashing.run(body)
        } catch is HashWorkers.Overloaded {
            throw CallFailure.resourceExhausted("too many sign-ins at once; try again shortly")
        }
    }

    /// Trimmed and lower-cased, as the contract compares addresses, and in Unicode NFC so that an
    /// internationalised address typed precomposed or decomposed is one address. Fixed from the
    /// first stored blind index: changing it later orphans every identity it changes.
    public static func normalizeEmail(_ email: String) -> String {
        email.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping.lowercased()
    }

    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }

    static func validate(_ client: ImsV1.ClientInfo) throws {
        for (value, limit, name) in [(client.appName, 100, "app_name"), (client.appVersion, 50, "app_version"),
                                      (client.osName, 50, "os_name"), (client.osVersion, 50, "os_version"),
                                      (client.deviceName, 100, "device_name")] {
            guard value.count <= limit, !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
                throw CallFailure.invalidArgument("client.\(name) must be at most \(limit) characters without control characters")
            }
        }
    }

    static func encodePageToken(_ position: (lastUsed: Int64, sessionID: UUID)) -> String {
        PageToken.encode(.init(ms: position.lastUsed, id: position.sessionID))
    }

    static func decodePageToken(_ token: String) -> (lastUsed: Int64, sessionID: UUID)? {
        PageToken.decode(token).map { ($0.ms, $0.id) }
    }
}
