import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore

/// What the identity service holds about a person, and its erasure (docs/privacy.md, "Your
/// rights"): for `PrivacyService`, which adds the tenants' side.
extension ImsService {
    /// A person's records in `ims`.
    public struct PersonalRecord: Sendable {
        public var email: String
        public var profile: ImsV1.Profile?
        public var platformOperator: Bool
        public var createdAtMs: Int64
        /// Every session still stored, ended or not, with its client and last address.
        public var sessions: [ImsV1.Session]
        /// Invitations addressed to the person's e-mail: tenant, role, when, used.
        public var invitations: [(tenantID: UUID, role: String, createdAtMs: Int64, used: Bool)]
    }

    public func personalRecord(_ identityID: UUID) async throws -> PersonalRecord? {
        guard let person = try await db.person(identityID) else { return nil }
        let keyring = db.keyring
        return try await db.store.pool.run { connection in
            var record = PersonalRecord(
                email: person.email, profile: person.profile, platformOperator: person.platformOperator, createdAtMs: person.createdAt,
                sessions: [], invitations: [])
            for row in try connection.query(
                "SELECT session_id, client_info_enc, created_at, last_used_at, expires_at, last_source_enc FROM ims.sessions WHERE identity_id = $1 ORDER BY created_at",
                [.uuid(identityID)]).rows {
                let id = try row.uuid(0)
                var session = ImsV1.Session.with {
                    $0.sessionID = id.bytes
                    $0.createdAtMs = (try? row.timestampMs(2)) ?? 0
                    $0.lastSeenAtMs = (try? row.timestampMs(3)) ?? 0
                    $0.expiresAtMs = (try? row.timestampMs(4)) ?? 0
                }
                if let sealed = try row.optionalBytes(1) {
                    let bytes = try keyring.open(sealed, connection, table: "sessions", column: "client_info_enc", row: id.bytes)
                    session.client = try bytes.withUnsafeBytes { try ImsV1.ClientInfo(serializedBytes: $0, limits: .default) }
                }
                if let sealed = try row.optionalBytes(5) {
                    session.lastSourceAddress = String(decoding: try keyring.open(sealed, connection, table: "sessions", column: "last_source_enc", row: id.bytes), as: UTF8.self)
                }
                record.sessions.append(session)
            }
            let index = try connection.query("SELECT email_index FROM ims.identities WHERE identity_id = $1", [.uuid(identityID)])[0].bytes(0)
            for row in try connection.query(
                "SELECT tenant_id, role, created_at, used_at IS NOT NULL FROM ims.invitations WHERE email_index = $1 ORDER BY created_at",
                [.bytea(index)]).rows {
                record.invitations.append((try row.uuid(0), try row.string(1), try row.timestampMs(2), try row.bool(3)))
            }
            return record
        }
    }

    /// Whether `password` is the person's current one (self-erasure asks for it). Failures count
    /// against the account's sign-in throttle, as ChangePassword's do.
    public func verifyPassword(_ identityID: UUID, _ password: String) async throws -> Bool {
        let presented = password.precomposedStringWithCanonicalMapping
        guard !presented.isEmpty, presented.utf8.count <= PasswordHasher.maximumPasswordByteCount,
              let state = try await db.passwordState(identityID, now: Self.nowMs()) else { return false }
        let (hasher, stored, locked) = (hasher, state.passwordHash, state.locked)
        let verification = try await hash {
            if !locked, let stored { return hasher.verify(presented, against: stored) }
            hasher.dummyVerify(presented)
            return PasswordHasher.Verification.invalid
        }
        guard case .valid = verification else {
            if !locked { _ = try await db.recordFailure(account: state.accountSubject, source: nil, policy: configuration.throttle, now: Self.nowMs()) }
            return false
        }
        return true
    }

    /// Erases the person from `ims`: sessions, reset tokens and the invitations addressed to them
    /// are deleted; the identity row stays as a tombstone (its id is what audit events and
    /// memberships pointed to) with e-mail, profile and password removed and its e-mail index
    /// replaced by random bytes (the address may register again as someone new). Returns what
    /// was done per category.
    public func erase(_ identityID: UUID) async throws -> [(category: String, count: Int)] {
        let keyring = db.keyring
        let now = Self.nowMs()
        let done = try await db.transaction { connection -> ([UUID], [(category: String, count: Int)]) in
            guard let row = try connection.query(
                "SELECT email_index FROM ims.identities WHERE identity_id = $1 AND erased_at IS NULL FOR UPDATE", [.uuid(identityID)]).first
            else { return ([], []) }
            let index = try row.bytes(0)
            let sessions = try connection.query("DELETE FROM ims.sessions WHERE identity_id = $1 RETURNING session_id", [.uuid(identityID)])
                .rows.map { try $0.uuid(0) }
            let resets = try connection.query("DELETE FROM ims.password_resets WHERE identity_id = $1", [.uuid(identityID)]).affectedRows
            let invitations = try connection.query("DELETE FROM ims.invitations WHERE email_index = $1", [.bytea(index)]).affectedRows
            try connection.query("UPDATE ims.invitations SET invited_by = NULL WHERE invited_by = $1", [.uuid(identityID)])
            var random = SystemRandomNumberGenerator()
            let tombstone = (0..<32).map { _ in UInt8.random(in: 0...255, using: &random) }
            try connection.query(
                """
                UPDATE ims.identities SET email_enc = $2, email_index = $3, password_hash = NULL, profile_enc = NULL, erased_at = $4
                WHERE identity_id = $1
                """,
                [.uuid(identityID), .bytea(try keyring.seal([], connection, table: "identities", column: "email_enc", row: identityID.bytes)),
                 .bytea(tombstone), .timestampMs(now)])
            return (sessions, [("profile and e-mail address", 1), ("sessions", sessions.count), ("password reset tokens", resets),
                               ("invitations received", invitations)])
        }
        revocations.recordEnded(done.0)  // their access tokens are refused from now on
        return done.1
    }

    /// Deletes the invitations of an off-boarded tenant; returns how many.
    public func purgeInvitations(tenant: UUID) async throws -> Int {
        try await db.transaction { connection in
            try connection.query("DELETE FROM ims.invitations WHERE tenant_id = $1", [.uuid(tenant)]).affectedRows
        }
    }
}
