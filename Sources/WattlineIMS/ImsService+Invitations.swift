import Foundation
import WattlineAccess
import WattlineProtos
import WattlineWire

/// Invite, ListInvitations, RevokeInvitation, RegisterWithInvitation, AcceptInvitation
/// (docs/identity.md, Invitations). AccessPolicy has checked the tenant role of the first three.
extension ImsService {
    /// The answer to every unusable invitation token: unknown, used, revoked, expired.
    public static let invitationFailedMessage = "the invitation token is not valid (unknown, used, revoked or expired)"
    static let maximumInvitationLifetimeSeconds: UInt32 = 30 * 24 * 3600

    func registerInvitations(in router: inout Router) {
        router.unary(ImsV1.ImsService.Invite.self) { [self] request, context in
            try await invite(request, context)
        }
        router.unary(ImsV1.ImsService.ListInvitations.self) { [self] request, context in
            try await listInvitations(request, context)
        }
        router.unary(ImsV1.ImsService.RevokeInvitation.self) { [self] request, context in
            try await revokeInvitation(request, context)
        }
        router.unary(ImsV1.ImsService.RegisterWithInvitation.self) { [self] request, context in
            try await registerWithInvitation(request, context)
        }
        router.unary(ImsV1.ImsService.AcceptInvitation.self) { [self] request, context in
            try await acceptInvitation(request, context)
        }
    }

    func invite(_ request: ImsV1.InviteRequest, _ context: CallContext) async throws -> ImsV1.InviteResponse {
        let person = try await authenticatedPerson(context)
        let (inviter, _) = try person.ids()
        let tenantID = try Self.tenant(request.tenantID)
        let email = Self.normalizeEmail(request.email)
        guard EmailAddress.isValid(email) else {
            throw CallFailure.invalidArgument("email must be an address such as name@example.com (at most 254 characters)")
        }
        guard let role = TenantRole(request.role) else {
            throw CallFailure.invalidArgument("role must be ROLE_OWNER, ROLE_ADMIN, ROLE_TECHNICIAN or ROLE_VIEWER")
        }
        guard request.validForSeconds <= Self.maximumInvitationLifetimeSeconds else {
            throw CallFailure.invalidArgument("valid_for_seconds must be at most 2592000 (30 days)")
        }
        // Finer than AccessPolicy's "admin or operator": only an owner or an operator makes owners.
        if role == .owner, person.grants.tenantRoles[tenantID.lowercased] != .owner, !person.grants.platformOperator {
            throw CallFailure.permissionDenied("only an owner of the tenant or a platform operator may invite an owner")
        }
        if let existing = try await db.identityID(forEmail: email),
           try await tenants.role(ofIdentity: existing.lowercased, inTenant: tenantID.lowercased) != nil {
            throw CallFailure.alreadyExists("this address is already a member of the tenant")
        }
        let now = Self.nowMs()
        let lifetime = request.validForSeconds == 0
            ? configuration.invitationLifetime.wholeMilliseconds : Int64(request.validForSeconds) * 1_000
        let (record, token) = try await db.createInvitation(
            tenantID: tenantID, normalizedEmail: email, role: role, invitedBy: inviter, now: now, expiresAt: now + lifetime)
        await notifier.deliver(InvitationMessage(
            invitationID: record.invitationID.lowercased, email: email, tenantID: tenantID.lowercased, role: role,
            token: token, expiresAtMs: record.expiresAt))
        var response = ImsV1.InviteResponse()
        response.invitation = record.message(now: now)
        response.invitationToken = token
        return response
    }

    func listInvitations(_ request: ImsV1.ListInvitationsRequest, _ context: CallContext) async throws -> ImsV1.ListInvitationsResponse {
        _ = try await authenticatedPerson(context)
        let tenantID = try Self.tenant(request.tenantID)
        guard request.pageSize <= 500 else { throw CallFailure.invalidArgument("page_size must be at most 500") }
        if case .unrecognized = request.state { throw CallFailure.invalidArgument("state is not an InvitationState") }
        var after: PageToken.Position?
        if !request.pageToken.isEmpty {
            guard let position = PageToken.decode(request.pageToken) else {
                throw CallFailure.invalidArgument("page_token is not one this service returned")
            }
            after = position
        }
        let now = Self.nowMs()
        let page = try await db.listInvitations(
            tenantID: tenantID, state: request.state, after: after, limit: request.pageSize == 0 ? 50 : Int(request.pageSize), now: now)
        var response = ImsV1.ListInvitationsResponse()
        response.invitations = page.invitations.map { $0.message(now: now) }
        if let next = page.next { response.nextPageToken = PageToken.encode(next) }
        return response
    }

    func revokeInvitation(_ request: ImsV1.RevokeInvitationRequest, _ context: CallContext) async throws -> ImsV1.RevokeInvitationResponse {
        _ = try await authenticatedPerson(context)
        let tenantID = try Self.tenant(request.tenantID)
        guard let invitationID = UUID(bytes: request.invitationID) else {
            throw CallFailure.invalidArgument("invitation_id must be 16 bytes")
        }
        let now = Self.nowMs()
        switch try await db.revokeInvitation(invitationID, tenantID: tenantID, now: now) {
        case .revoked(let record):
            var response = ImsV1.RevokeInvitationResponse()
            response.invitation = record.message(now: now)
            return response
        case .notPending(let record):
            throw CallFailure.failedPrecondition("the invitation is no longer pending (\(record.state(now: now).label))")
        case .notFound:
            throw CallFailure.notFound("no such invitation in this tenant")
        }
    }

    func registerWithInvitation(
        _ request: ImsV1.RegisterWithInvitationRequest, _ context: CallContext
    ) async throws -> ImsV1.RegisterWithInvitationResponse {
        guard let tokenHash = try SecretToken.hash(request.invitationToken) else {
            throw CallFailure.unauthenticated(Self.invitationFailedMessage)
        }
        let password = try PasswordPolicy.validated(request.password, field: "password")
        var profile = ImsV1.Profile()
        profile.displayName = try ProfileRules.displayName(request.displayName)
        profile.phone = try ProfileRules.phone(request.phone)
        profile.locale = request.locale.isEmpty ? "en" : try ProfileRules.locale(request.locale)
        let now = Self.nowMs()
        profile.updatedAtMs = now
        // Only a live token is worth an argon2id hash.
        guard try await db.invitationIsPending(tokenHash: tokenHash, now: now) else {
            throw CallFailure.unauthenticated(Self.invitationFailedMessage)
        }
        let hasher = hasher
        let passwordHash = try await hash { try hasher.hash(password) }
        let identityID = UUID.v7(now: now)
        switch try await db.claimForRegistration(
            tokenHash: tokenHash, identityID: identityID, passwordHash: passwordHash, profile: profile, now: now) {
        case .claimed(let record):
            try await grantMembership(record, to: identityID, created: true)
            var response = ImsV1.RegisterWithInvitationResponse()
            response.identityID = identityID.bytes
            response.tenantID = record.tenantID.bytes
            response.role = ImsV1.Role(rawValue: Int32(record.role.rawValue))
            return response
        case .invalid, .otherEmail:
            throw CallFailure.unauthenticated(Self.invitationFailedMessage)
        case .emailHasIdentity:
            throw CallFailure.alreadyExists("the invited address already has an identity: sign in and use AcceptInvitation")
        }
    }

    func acceptInvitation(_ request: ImsV1.AcceptInvitationRequest, _ context: CallContext) async throws -> ImsV1.AcceptInvitationResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, _) = try person.ids()
        guard let tokenHash = try SecretToken.hash(request.invitationToken) else {
            throw CallFailure.unauthenticated(Self.invitationFailedMessage)
        }
        switch try await db.claimForAcceptance(tokenHash: tokenHash, identityID: identityID, now: Self.nowMs()) {
        case .claimed(let record):
            try await grantMembership(record, to: identityID, created: false)
            var response = ImsV1.AcceptInvitationResponse()
            response.tenantID = record.tenantID.bytes
            response.role = ImsV1.Role(rawValue: Int32(record.role.rawValue))
            return response
        case .invalid, .emailHasIdentity:
            throw CallFailure.unauthenticated(Self.invitationFailedMessage)
        case .otherEmail:
            throw CallFailure.permissionDenied("the invitation was issued to another e-mail address")
        }
    }

    /// Adds the membership for a claimed invitation. The claim and the membership are in two
    /// databases' transactions (ims and tenancy), so a failed or refused membership undoes the
    /// claim: the invitation is pending again, and a registration's new identity is deleted.
    private func grantMembership(_ record: ImsStore.InvitationRecord, to identityID: UUID, created: Bool) async throws {
        let added: Bool
        do {
            added = try await tenants.addMember(
                tenantID: record.tenantID.lowercased, identityID: identityID.lowercased, role: record.role,
                grantedBy: record.invitedBy?.lowercased)
        } catch {
            try? await db.releaseClaim(record.invitationID, createdIdentity: created ? identityID : nil)
            throw error
        }
        guard added else {
            try await db.releaseClaim(record.invitationID, createdIdentity: created ? identityID : nil)
            throw CallFailure.alreadyExists("already a member of this tenant (the current role is kept)")
        }
    }

    /// The request's tenant id (AccessPolicy has already refused one that is not 16 bytes).
    static func tenant(_ bytes: [UInt8]) throws -> UUID {
        guard let id = UUID(bytes: bytes) else { throw CallFailure.invalidArgument("tenant_id must be 16 bytes") }
        return id
    }
}

extension TenantRole {
    /// The contract's role; nil for ROLE_UNSPECIFIED and unknown values.
    init?(_ role: ImsV1.Role) {
        guard let known = TenantRole(rawValue: Int(role.rawValue)) else { return nil }
        self = known
    }
}

extension ImsV1.InvitationState {
    var label: String {
        switch self {
        case .pending: "pending"
        case .accepted: "accepted"
        case .revoked: "revoked"
        case .expired: "expired"
        case .unspecified, .unrecognized: "unknown"
        }
    }
}
