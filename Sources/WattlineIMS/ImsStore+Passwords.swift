import Foundation
import WattlineProtos
import WattlineStore

/// Password change and reset (`ims.identities.password_hash`, `ims.password_resets`,
/// `ims.reset_throttle`).
extension ImsStore {
    /// What ChangePassword checks before verifying: the stored hash, the account's throttle
    /// subject, and whether that subject is locked now.
    struct PasswordState: Sendable {
        var passwordHash: String?
        var accountSubject: [UInt8]
        var locked: Bool
    }

    func passwordState(_ identityID: UUID, now: Int64) async throws -> PasswordState? {
        try await store.pool.run { connection in
            guard let row = try connection.query(
                "SELECT password_hash, email_index FROM ims.identities WHERE identity_id = $1 AND erased_at IS NULL",
                [.uuid(identityID)]).first else { return nil }
            let subject = Subject.account(emailIndex: try row.bytes(1))
            let locked = try connection.query(
                "SELECT 1 FROM ims.login_throttle WHERE subject = $1 AND locked_until > $2",
                [.bytea(subject), .timestampMs(now)]).first != nil
            return PasswordState(passwordHash: try row.optionalString(0), accountSubject: subject, locked: locked)
        }
    }

    /// Replaces the verified hash `old` with `new` and ends every other session; nil when the
    /// password changed meanwhile (nothing written).
    func changePassword(_ identityID: UUID, from old: String, to new: String, keeping sessionID: UUID, now: Int64) async throws -> [UUID]? {
        try await transaction { connection in
            guard try connection.query(
                "UPDATE ims.identities SET password_hash = $3 WHERE identity_id = $1 AND password_hash = $2 AND erased_at IS NULL",
                [.uuid(identityID), .text(old), .text(new)]).affectedRows == 1 else { return nil }
            // Reset links sent before the change must not undo it.
            try connection.query("DELETE FROM ims.password_resets WHERE identity_id = $1", [.uuid(identityID)])
            return try Self.revokeSessions(connection, of: identityID, keeping: sessionID, reason: "password_change", now: now)
        }
    }

    struct ResetThrottle: Sendable {
        var perAddress: Int
        var perSource: Int
        var window: Duration
    }

    enum ResetRequestOutcome: Sendable {
        case throttled
        /// No identity has the address: nothing stored beyond the throttle count.
        case unknownAddress
        case issued(PasswordResetMessage)
    }

    /// Counts the request against the address and the source, and for a known address replaces
    /// its unused reset tokens with `token`. The same statements run for a known and an unknown
    /// address up to the identity lookup; after it, one DELETE and one INSERT more.
    func requestPasswordReset(
        normalizedEmail: String, sourceKey: String?, token: (value: String, hash: [UInt8]), throttle: ResetThrottle,
        now: Int64, expiresAt: Int64
    ) async throws -> ResetRequestOutcome {
        let keyring = keyring
        return try await transaction { connection in
            let index = try keyring.blindIndex(Array(normalizedEmail.utf8), connection)
            let address = Subject.resetAccount(emailIndex: index)
            let source = try sourceKey.map { Subject.resetSource(index: try keyring.blindIndex(Array(("reset-source:" + $0).utf8), connection)) }
            let windowStart = now - throttle.window.wholeMilliseconds
            func count(_ subject: [UInt8]) throws -> Int {
                Int(try connection.query("""
                    INSERT INTO ims.reset_throttle AS t (subject, window_start, requests) VALUES ($1, $2, 1)
                    ON CONFLICT (subject) DO UPDATE SET
                        requests = CASE WHEN t.window_start <= $3 THEN 1 ELSE t.requests + 1 END,
                        window_start = CASE WHEN t.window_start <= $3 THEN $2 ELSE t.window_start END
                    RETURNING requests
                    """, [.bytea(subject), .timestampMs(now), .timestampMs(windowStart)])[0].int64(0))
            }
            let addressCount = try count(address)
            let sourceCount = try source.map(count) ?? 0
            guard addressCount <= throttle.perAddress, sourceCount <= throttle.perSource else { return .throttled }
            guard let row = try connection.query(
                "SELECT identity_id, profile_enc FROM ims.identities WHERE email_index = $1 AND erased_at IS NULL",
                [.bytea(index)]).first else { return .unknownAddress }
            let identityID = try row.uuid(0)
            var locale = ""
            if let sealed = try row.optionalBytes(1) {
                let bytes = try keyring.open(sealed, connection, table: "identities", column: "profile_enc", row: identityID.bytes)
                locale = try bytes.withUnsafeBytes { try ImsV1.Profile(serializedBytes: $0, limits: .default) }.locale
            }
            try connection.query("DELETE FROM ims.password_resets WHERE identity_id = $1 AND used_at IS NULL", [.uuid(identityID)])
            try connection.query(
                "INSERT INTO ims.password_resets (token_hash, identity_id, created_at, expires_at) VALUES ($1, $2, $3, $4)",
                [.bytea(token.hash), .uuid(identityID), .timestampMs(now), .timestampMs(expiresAt)])
            return .issued(PasswordResetMessage(
                identityID: identityID.lowercased, email: normalizedEmail, locale: locale.isEmpty ? "en" : locale,
                token: token.value, expiresAtMs: expiresAt))
        }
    }

    /// Whether a reset token is usable now (checked again when it is used).
    func resetIsUsable(tokenHash: [UInt8], now: Int64) async throws -> Bool {
        try await store.pool.run { connection in
            try connection.query(
                "SELECT 1 FROM ims.password_resets WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                [.bytea(tokenHash), .timestampMs(now)]).first != nil
        }
    }

    /// Uses the reset token: sets the password, ends every session, clears the address's sign-in
    /// lock; returns the identity and the sessions ended, nil for an unusable token.
    func completePasswordReset(tokenHash: [UInt8], newHash: String, now: Int64) async throws -> (identityID: UUID, ended: [UUID])? {
        try await transaction { connection in
            guard let row = try connection.query("""
                SELECT r.identity_id, i.email_index FROM ims.password_resets r JOIN ims.identities i USING (identity_id)
                WHERE r.token_hash = $1 AND r.used_at IS NULL AND r.expires_at > $2 AND i.erased_at IS NULL
                FOR UPDATE OF r, i
                """, [.bytea(tokenHash), .timestampMs(now)]).first else { return nil }
            let identityID = try row.uuid(0)
            try connection.query("UPDATE ims.identities SET password_hash = $2 WHERE identity_id = $1",
                                 [.uuid(identityID), .text(newHash)])
            try connection.query("UPDATE ims.password_resets SET used_at = $2 WHERE identity_id = $1 AND used_at IS NULL",
                                 [.uuid(identityID), .timestampMs(now)])
            try connection.query("DELETE FROM ims.login_throttle WHERE subject = $1",
                                 [.bytea(Subject.account(emailIndex: try row.bytes(1)))])
            let ended = try Self.revokeSessions(connection, of: identityID, keeping: nil, reason: "password_reset", now: now)
            return (identityID, ended)
        }
    }
}
