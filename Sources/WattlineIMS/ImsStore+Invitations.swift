import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore

/// `ims.invitations`: the invited address sealed (row = invitation id) and blind-indexed like an
/// identity's, the token only as SHA-256, the state derived from used_at, revoked_at, expires_at.
extension ImsStore {
    struct InvitationRecord: Sendable {
        var invitationID: UUID
        var tenantID: UUID
        var email: String
        var role: TenantRole
        var invitedBy: UUID?
        var createdAt: Int64
        var expiresAt: Int64
        var usedAt: Int64?
        var revokedAt: Int64?
        var acceptedBy: UUID?

        func state(now: Int64) -> ImsV1.InvitationState {
            if usedAt != nil { return .accepted }
            if revokedAt != nil { return .revoked }
            return expiresAt <= now ? .expired : .pending
        }

        func message(now: Int64) -> ImsV1.Invitation {
            var invitation = ImsV1.Invitation()
            invitation.invitationID = invitationID.bytes
            invitation.tenantID = tenantID.bytes
            invitation.email = email
            invitation.role = ImsV1.Role(rawValue: Int32(role.rawValue))
            invitation.invitedByIdentityID = invitedBy?.bytes ?? []
            invitation.createdAtMs = createdAt
            invitation.expiresAtMs = expiresAt
            invitation.state = state(now: now)
            invitation.acceptedByIdentityID = acceptedBy?.bytes ?? []
            return invitation
        }
    }

    static let invitationColumns =
        "invitation_id, tenant_id, email_enc, role, invited_by, created_at, expires_at, used_at, revoked_at, accepted_by"

    static func invitation(_ row: PGRow, _ connection: PGConnection, _ keyring: IMSKeyring) throws -> InvitationRecord {
        let invitationID = try row.uuid(0)
        let email = try keyring.open(try row.bytes(2), connection, table: "invitations", column: "email_enc", row: invitationID.bytes)
        guard let role = TenantRole(name: try row.string(3)) else {
            throw PGError(.decoding, "ims.invitations holds an unknown role")
        }
        return InvitationRecord(
            invitationID: invitationID, tenantID: try row.uuid(1), email: String(decoding: email, as: UTF8.self), role: role,
            invitedBy: try row.optionalUUID(4), createdAt: try row.timestampMs(5), expiresAt: try row.timestampMs(6),
            usedAt: try row.optionalTimestampMs(7), revokedAt: try row.optionalTimestampMs(8), acceptedBy: try row.optionalUUID(9))
    }

    /// Stores a new pending invitation; returns it with its token (the only time it exists in clear).
    func createInvitation(
        tenantID: UUID, normalizedEmail: String, role: TenantRole, invitedBy: UUID?, now: Int64, expiresAt: Int64
    ) async throws -> (InvitationRecord, token: String) {
        let keyring = keyring
        let token = try SecretToken.generate()
        let invitationID = UUID.v7(now: now)
        try await transaction { connection in
            let index = try keyring.blindIndex(Array(normalizedEmail.utf8), connection)
            let emailEnc = try keyring.seal(Array(normalizedEmail.utf8), connection, table: "invitations", column: "email_enc",
                                            row: invitationID.bytes)
            try connection.query("""
                INSERT INTO ims.invitations (invitation_id, tenant_id, email_index, email_enc, role, token_hash, invited_by,
                                             created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                """, [.uuid(invitationID), .uuid(tenantID), .bytea(index), .bytea(emailEnc), .text(role.name), .bytea(token.hash),
                      invitedBy.map { .uuid($0) } ?? .null, .timestampMs(now), .timestampMs(expiresAt)])
        }
        let record = InvitationRecord(invitationID: invitationID, tenantID: tenantID, email: normalizedEmail, role: role,
                                      invitedBy: invitedBy, createdAt: now, expiresAt: expiresAt)
        return (record, token.value)
    }

    /// A tenant's invitations, newest first, after the keyset position `after`, optionally in one state.
    func listInvitations(
        tenantID: UUID, state: ImsV1.InvitationState, after: PageToken.Position?, limit: Int, now: Int64
    ) async throws -> (invitations: [InvitationRecord], next: PageToken.Position?) {
        let keyring = keyring
        return try await store.pool.run { connection in
            var parameters: [PGValue] = [.uuid(tenantID), .timestampMs(now), .int64(Int64(limit + 1))]
            var conditions = ""
            switch state {
            case .pending: conditions = "AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2"
            case .accepted: conditions = "AND used_at IS NOT NULL"
            case .revoked: conditions = "AND used_at IS NULL AND revoked_at IS NOT NULL"
            case .expired: conditions = "AND used_at IS NULL AND revoked_at IS NULL AND expires_at <= $2"
            case .unspecified, .unrecognized: conditions = ""
            }
            if let after {
                conditions += " AND (created_at, invitation_id) < ($4, $5)"
                parameters += [.timestampMs(after.ms), .uuid(after.id)]
            }
            let rows = try connection.query("""
                SELECT \(Self.invitationColumns) FROM ims.invitations
                WHERE tenant_id = $1 \(conditions)
                ORDER BY created_at DESC, invitation_id DESC
                LIMIT $3
                """, parameters).rows
            let page = try rows.prefix(limit).map { try Self.invitation($0, connection, keyring) }
            let next = rows.count > limit ? page.last.map { PageToken.Position(ms: $0.createdAt, id: $0.invitationID) } : nil
            return (page, next)
        }
    }

    enum RevokeInvitationOutcome: Sendable {
        case revoked(InvitationRecord)
        case notPending(InvitationRecord)
        case notFound
    }

    /// Revokes a pending invitation of `tenantID` (another tenant's is not found).
    func revokeInvitation(_ invitationID: UUID, tenantID: UUID, now: Int64) async throws -> RevokeInvitationOutcome {
        let keyring = keyring
        return try await transaction { connection in
            guard let row = try connection.query(
                "SELECT \(Self.invitationColumns) FROM ims.invitations WHERE invitation_id = $1 AND tenant_id = $2 FOR UPDATE",
                [.uuid(invitationID), .uuid(tenantID)]).first else { return .notFound }
            var record = try Self.invitation(row, connection, keyring)
            guard record.state(now: now) == .pending else { return .notPending(record) }
            try connection.query("UPDATE ims.invitations SET revoked_at = $2 WHERE invitation_id = $1",
                                 [.uuid(invitationID), .timestampMs(now)])
            record.revokedAt = now
            return .revoked(record)
        }
    }

    /// Whether a token names a pending invitation now (checked again when it is claimed).
    func invitationIsPending(tokenHash: [UInt8], now: Int64) async throws -> Bool {
        try await store.pool.run { connection in
            try connection.query("""
                SELECT 1 FROM ims.invitations
                WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
                """, [.bytea(tokenHash), .timestampMs(now)]).first != nil
        }
    }

    enum ClaimOutcome: Sendable {
        /// The invitation is now used by the identity; undo with `releaseClaim` if the membership fails.
        case claimed(InvitationRecord)
        /// Unknown, used, revoked or expired.
        case invalid
        /// Registration: the invited address already has an identity.
        case emailHasIdentity
        /// Acceptance: the invitation is for another address (it stays pending).
        case otherEmail
    }

    /// The pending invitation of `tokenHash`, locked; nil when there is none.
    private static func lockPending(_ connection: PGConnection, _ tokenHash: [UInt8], now: Int64) throws -> (PGRow, emailIndex: [UInt8])? {
        guard let row = try connection.query("""
            SELECT \(invitationColumns), email_index FROM ims.invitations
            WHERE token_hash = $1 AND used_at IS NULL AND revoked_at IS NULL AND expires_at > $2
            FOR UPDATE
            """, [.bytea(tokenHash), .timestampMs(now)]).first else { return nil }
        return (row, try row.bytes(10))
    }

    /// Registration: in one transaction, creates the identity for the invited address and uses
    /// the invitation.
    func claimForRegistration(
        tokenHash: [UInt8], identityID: UUID, passwordHash: String, profile: ImsV1.Profile, now: Int64
    ) async throws -> ClaimOutcome {
        let keyring = keyring
        do {
            return try await transaction { connection in
                guard let (row, emailIndex) = try Self.lockPending(connection, tokenHash, now: now) else { return .invalid }
                var record = try Self.invitation(row, connection, keyring)
                guard try connection.query("SELECT 1 FROM ims.identities WHERE email_index = $1", [.bytea(emailIndex)]).first == nil
                else { return .emailHasIdentity }
                try Self.insertIdentity(connection, keyring: keyring, identityID: identityID, normalizedEmail: record.email,
                                        passwordHash: passwordHash, profile: profile, platformOperator: false, now: now)
                try Self.markUsed(connection, record.invitationID, by: identityID, now: now)
                record.usedAt = now
                record.acceptedBy = identityID
                return .claimed(record)
            }
        } catch let error as PGError where error.code == .uniqueViolation {
            return .emailHasIdentity  // registered concurrently
        }
    }

    /// Acceptance by a signed-in identity whose address must be the invited one.
    func claimForAcceptance(tokenHash: [UInt8], identityID: UUID, now: Int64) async throws -> ClaimOutcome {
        let keyring = keyring
        return try await transaction { connection in
            guard let (row, emailIndex) = try Self.lockPending(connection, tokenHash, now: now) else { return .invalid }
            guard let mine = try connection.query(
                "SELECT email_index FROM ims.identities WHERE identity_id = $1 AND erased_at IS NULL", [.uuid(identityID)]).first,
                try mine.bytes(0) == emailIndex else { return .otherEmail }
            var record = try Self.invitation(row, connection, keyring)
            try Self.markUsed(connection, record.invitationID, by: identityID, now: now)
            record.usedAt = now
            record.acceptedBy = identityID
            return .claimed(record)
        }
    }

    private static func markUsed(_ connection: PGConnection, _ invitationID: UUID, by identityID: UUID, now: Int64) throws {
        try connection.query("UPDATE ims.invitations SET used_at = $2, accepted_by = $3 WHERE invitation_id = $1",
                             [.uuid(invitationID), .timestampMs(now), .uuid(identityID)])
    }

    /// Undoes a claim whose membership could not be granted: the invitation is pending again and
    /// an identity created by the registration is deleted (it has no sessions yet).
    func releaseClaim(_ invitationID: UUID, createdIdentity: UUID?) async throws {
        try await transaction { connection in
            try connection.query("UPDATE ims.invitations SET used_at = NULL, accepted_by = NULL WHERE invitation_id = $1",
                                 [.uuid(invitationID)])
            if let createdIdentity {
                try connection.query("DELETE FROM ims.identities WHERE identity_id = $1", [.uuid(createdIdentity)])
            }
        }
    }
}
