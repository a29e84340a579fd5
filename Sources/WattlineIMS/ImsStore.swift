import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore

/// The identity service's database access: its own pool connected as `wattline_ims` (which sees
/// only the `ims` schema), and the IMS keyring for sealed columns and blind indexes. Every
/// method is one hand-off to a pool thread and, where it writes, one transaction.
final class ImsStore: Sendable {
    let store: Store
    let keyring: IMSKeyring

    init(store: Store, keyring: IMSKeyring) {
        self.store = store
        self.keyring = keyring
    }

    // MARK: Identities

    struct Identity: Sendable {
        var identityID: UUID
        var passwordHash: String?
        var platformOperator: Bool
    }

    /// What a sign-in needs before the password is checked.
    struct LoginLookup: Sendable {
        var identity: Identity?
        var accountSubject: [UInt8]
        var sourceSubject: [UInt8]?
        var accountLockedUntil: Int64?
        var sourceLockedUntil: Int64?
    }

    func lookupForLogin(normalizedEmail: String, sourceKey: String?, now: Int64) async throws -> LoginLookup {
        let keyring = keyring
        return try await store.pool.run { connection in
            let index = try keyring.blindIndex(Array(normalizedEmail.utf8), connection)
            let account = Subject.account(emailIndex: index)
            let source = try sourceKey.map { Subject.source(index: try keyring.blindIndex(Array(("login-source:" + $0).utf8), connection)) }
            var lookup = LoginLookup(accountSubject: account, sourceSubject: source)
            let rows = try connection.query(
                "SELECT subject, locked_until FROM ims.login_throttle WHERE subject IN ($1, $2) AND locked_until > $3",
                [.bytea(account), .bytea(source ?? account), .timestampMs(now)])
            for row in rows.rows {
                let subject = try row.bytes(0)
                let until = try row.timestampMs(1)
                if subject == account { lookup.accountLockedUntil = until } else { lookup.sourceLockedUntil = until }
            }
            if let row = try connection.query(
                "SELECT identity_id, password_hash, platform_operator FROM ims.identities WHERE email_index = $1 AND erased_at IS NULL",
                [.bytea(index)]).first {
                lookup.identity = Identity(
                    identityID: try row.uuid(0), passwordHash: try row.optionalString(1), platformOperator: try row.bool(2))
            }
            return lookup
        }
    }

    /// Counts a failed sign-in against each subject; returns the account subject's failure count.
    func recordFailure(account: [UInt8], source: [UInt8]?, policy: LoginThrottlePolicy, now: Int64) async throws -> Int {
        try await transaction { connection in
            let forgetBefore = now - policy.memory.wholeMilliseconds
            func count(_ subject: [UInt8], threshold: Int, base: Duration) throws -> Int {
                let failures = Int(try connection.query("""
                    INSERT INTO ims.login_throttle AS t (subject, failures, locked_until, updated_at) VALUES ($1, 1, NULL, $2)
                    ON CONFLICT (subject) DO UPDATE
                        SET failures = CASE WHEN t.updated_at < $3 THEN 1 ELSE t.failures + 1 END, updated_at = $2
                    RETURNING failures
                    """, [.bytea(subject), .timestampMs(now), .timestampMs(forgetBefore)])[0].int64(0))
                if let lock = policy.lock(afterFailures: failures, threshold: threshold, base: base) {
                    try connection.query(
                        "UPDATE ims.login_throttle SET locked_until = $2 WHERE subject = $1",
                        [.bytea(subject), .timestampMs(now + lock.wholeMilliseconds)])
                }
                return failures
            }
            if let source { _ = try count(source, threshold: policy.sourceLockoutThreshold, base: policy.sourceLockout) }
            return try count(account, threshold: policy.lockoutThreshold, base: policy.lockout)
        }
    }

    // MARK: Sessions

    struct OpenedSession: Sendable {
        var sessionID: UUID
        var refreshToken: String
        var expiresAt: Int64
    }

    /// A successful sign-in: resets the account's failures, stores a rehash if one was made
    /// (only over the hash that was verified), and opens a session.
    func openSession(
        identityID: UUID, accountSubject: [UInt8], rehash: (old: String, new: String)?, client: ImsV1.ClientInfo?,
        sourceIP: String?, now: Int64, lifetime: Duration
    ) async throws -> OpenedSession {
        let keyring = keyring
        let token = try RefreshToken.generate()
        let sessionID = UUID.v7(now: now)
        let expiresAt = now + lifetime.wholeMilliseconds
        let clientBytes = client?.serializedBytes()
        return try await transaction { connection in
            try connection.query("DELETE FROM ims.login_throttle WHERE subject = $1", [.bytea(accountSubject)])
            if let rehash {
                try connection.query(
                    "UPDATE ims.identities SET password_hash = $3 WHERE identity_id = $1 AND password_hash = $2",
                    [.uuid(identityID), .text(rehash.old), .text(rehash.new)])
            }
            let row = sessionID.bytes
            let clientEnc: PGValue = try clientBytes.map {
                .bytea(try keyring.seal($0, connection, table: "sessions", column: "client_info_enc", row: row))
            } ?? .null
            let sourceEnc: PGValue = try sourceIP.map {
                .bytea(try keyring.seal(Array($0.utf8), connection, table: "sessions", column: "last_source_enc", row: row))
            } ?? .null
            try connection.query("""
                INSERT INTO ims.sessions (session_id, identity_id, refresh_hash, client_info_enc, last_source_enc,
                                          created_at, last_used_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $6, $7)
                """, [.uuid(sessionID), .uuid(identityID), .bytea(token.hash), clientEnc, sourceEnc,
                      .timestampMs(now), .timestampMs(expiresAt)])
            return OpenedSession(sessionID: sessionID, refreshToken: token.value, expiresAt: expiresAt)
        }
    }

    enum RefreshOutcome: Sendable {
        /// The current token: rotated to `session.refreshToken`.
        case rotated(OpenedSession, identityID: UUID, platformOperator: Bool)
        /// The token this session was rotated from, within the grace window: the same successor.
        case replayed(OpenedSession, identityID: UUID, platformOperator: Bool)
        /// A rotated token outside the grace window: the session has just been revoked.
        case reuseDetected(sessionID: UUID)
        /// Unknown, expired or revoked.
        case invalid
    }

    func refresh(tokenHash: [UInt8], sourceIP: String?, now: Int64, grace: Duration) async throws -> RefreshOutcome {
        let keyring = keyring
        let next = try RefreshToken.generate()
        return try await transaction { connection in
            guard let row = try connection.query("""
                SELECT s.session_id, s.identity_id, s.refresh_hash = $1, s.rotated_at, s.successor_enc, s.expires_at,
                       s.revoked_at, i.platform_operator, i.erased_at
                FROM ims.sessions s JOIN ims.identities i ON i.identity_id = s.identity_id
                WHERE s.refresh_hash = $1 OR s.previous_refresh_hash = $1
                FOR UPDATE OF s
                """, [.bytea(tokenHash)]).first else {
                // A token rotated away from longer ago: reuse as well.
                guard let retired = try connection.query("""
                    SELECT s.session_id FROM ims.retired_refresh_tokens r JOIN ims.sessions s ON s.session_id = r.session_id
                    WHERE r.refresh_hash = $1 FOR UPDATE OF s
                    """, [.bytea(tokenHash)]).first else { return .invalid }
                let sessionID = try retired.uuid(0)
                try Self.revoke(connection, sessionID: sessionID, reason: "refresh_reuse", now: now)
                return .reuseDetected(sessionID: sessionID)
            }
            let sessionID = try row.uuid(0)
            let identityID = try row.uuid(1)
            let isCurrent = try row.bool(2)
            let rotatedAt = try row.optionalTimestampMs(3)
            let successorEnc = try row.optionalBytes(4)
            let expiresAt = try row.timestampMs(5)
            let operator_ = try row.bool(7)
            guard try row.optionalTimestampMs(6) == nil, try row.optionalTimestampMs(8) == nil, now < expiresAt else {
                return .invalid
            }
            let rowID = sessionID.bytes
            let sourceEnc: PGValue = try sourceIP.map {
                .bytea(try keyring.seal(Array($0.utf8), connection, table: "sessions", column: "last_source_enc", row: rowID))
            } ?? .null
            if isCurrent {
                let sealed = try keyring.seal(Array(next.value.utf8), connection, table: "sessions", column: "successor_enc", row: rowID)
                try connection.query("""
                    UPDATE ims.sessions
                    SET previous_refresh_hash = refresh_hash, refresh_hash = $2, successor_enc = $3, rotated_at = $4,
                        last_used_at = $4, last_source_enc = COALESCE($5, last_source_enc)
                    WHERE session_id = $1
                    """, [.uuid(sessionID), .bytea(next.hash), .bytea(sealed), .timestampMs(now), sourceEnc])
                try connection.query(
                    "INSERT INTO ims.retired_refresh_tokens (refresh_hash, session_id, retired_at) VALUES ($1, $2, $3)",
                    [.bytea(tokenHash), .uuid(sessionID), .timestampMs(now)])
                return .rotated(OpenedSession(sessionID: sessionID, refreshToken: next.value, expiresAt: expiresAt),
                                identityID: identityID, platformOperator: operator_)
            }
            if let rotatedAt, let successorEnc, now - rotatedAt <= grace.wholeMilliseconds {
                let successor = try keyring.open(successorEnc, connection, table: "sessions", column: "successor_enc", row: rowID)
                try connection.query(
                    "UPDATE ims.sessions SET last_used_at = $2, last_source_enc = COALESCE($3, last_source_enc) WHERE session_id = $1",
                    [.uuid(sessionID), .timestampMs(now), sourceEnc])
                return .replayed(OpenedSession(sessionID: sessionID, refreshToken: String(decoding: successor, as: UTF8.self),
                                               expiresAt: expiresAt),
                                 identityID: identityID, platformOperator: operator_)
            }
            try Self.revoke(connection, sessionID: sessionID, reason: "refresh_reuse", now: now)
            return .reuseDetected(sessionID: sessionID)
        }
    }

    /// Clears successors whose grace window has passed (they are live refresh tokens, sealed).
    func sweepSuccessors(before: Int64) async throws {
        _ = try await store.pool.run { connection in
            try connection.query("""
                UPDATE ims.sessions SET successor_enc = NULL
                WHERE session_id IN (SELECT session_id FROM ims.sessions
                                     WHERE successor_enc IS NOT NULL AND rotated_at < $1
                                     LIMIT 100 FOR UPDATE SKIP LOCKED)
                """, [.timestampMs(before)]).affectedRows
        }
    }

    private static func revoke(_ connection: PGConnection, sessionID: UUID, reason: String, now: Int64) throws {
        try connection.query(
            "UPDATE ims.sessions SET revoked_at = $2, revoked_reason = $3, successor_enc = NULL WHERE session_id = $1 AND revoked_at IS NULL",
            [.uuid(sessionID), .timestampMs(now), .text(reason)])
    }

    /// Ends one open session of `identityID`; false when there is none such.
    func revokeSession(_ sessionID: UUID, of identityID: UUID, reason: String, now: Int64) async throws -> Bool {
        try await store.pool.run { connection in
            try connection.query("""
                UPDATE ims.sessions SET revoked_at = $3, revoked_reason = $4, successor_enc = NULL
                WHERE session_id = $1 AND identity_id = $2 AND revoked_at IS NULL AND expires_at > $3
                """, [.uuid(sessionID), .uuid(identityID), .timestampMs(now), .text(reason)]).affectedRows == 1
        }
    }

    /// Ends every open session of `identityID` except `keeping`; returns the ids ended.
    func revokeAllSessions(of identityID: UUID, keeping: UUID?, now: Int64) async throws -> [UUID] {
        try await store.pool.run { connection in
            try Self.revokeSessions(connection, of: identityID, keeping: keeping, reason: "logout_everywhere", now: now)
        }
    }

    struct SessionListing: Sendable {
        var sessions: [ImsV1.Session]
        var next: (lastUsed: Int64, sessionID: UUID)?
    }

    /// Open sessions of `identityID`, most recently used first, after the keyset position `after`.
    func listSessions(of identityID: UUID, after: (lastUsed: Int64, sessionID: UUID)?, limit: Int, now: Int64) async throws -> SessionListing {
        let keyring = keyring
        return try await store.pool.run { connection in
            var parameters: [PGValue] = [.uuid(identityID), .timestampMs(now), .int64(Int64(limit + 1))]
            var keyset = ""
            if let after {
                keyset = "AND (last_used_at, session_id) < ($4, $5)"
                parameters += [.timestampMs(after.lastUsed), .uuid(after.sessionID)]
            }
            let rows = try connection.query("""
                SELECT session_id, client_info_enc, created_at, last_used_at, expires_at, last_source_enc
                FROM ims.sessions
                WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2 \(keyset)
                ORDER BY last_used_at DESC, session_id DESC
                LIMIT $3
                """, parameters).rows
            var listing = SessionListing(sessions: [])
            for row in rows.prefix(limit) {
                let sessionID = try row.uuid(0)
                var session = ImsV1.Session()
                session.sessionID = sessionID.bytes
                if let sealed = try row.optionalBytes(1) {
                    let bytes = try keyring.open(sealed, connection, table: "sessions", column: "client_info_enc", row: sessionID.bytes)
                    session.client = try bytes.withUnsafeBytes { try ImsV1.ClientInfo(serializedBytes: $0, limits: .default) }
                }
                session.createdAtMs = try row.timestampMs(2)
                session.lastSeenAtMs = try row.timestampMs(3)
                session.expiresAtMs = try row.timestampMs(4)
                if let sealed = try row.optionalBytes(5) {
                    let bytes = try keyring.open(sealed, connection, table: "sessions", column: "last_source_enc", row: sessionID.bytes)
                    session.lastSourceAddress = String(decoding: bytes, as: UTF8.self)
                }
                listing.sessions.append(session)
            }
            if rows.count > limit, let last = listing.sessions.last {
                listing.next = (last.lastSeenAtMs, try rows[limit - 1].uuid(0))
            }
            return listing
        }
    }

    /// Whether the session is revoked, expired or unknown (fail closed).
    func isSessionEnded(_ sessionID: UUID, now: Int64) async throws -> (ended: Bool, expiresAt: Int64?) {
        try await store.pool.run { connection in
            guard let row = try connection.query(
                "SELECT revoked_at IS NOT NULL, expires_at FROM ims.sessions WHERE session_id = $1", [.uuid(sessionID)]).first
            else { return (true, nil) }
            let expiresAt = try row.timestampMs(1)
            return (try row.bool(0) || expiresAt <= now, expiresAt)
        }
    }

    struct Person: Sendable {
        var email: String
        var profile: ImsV1.Profile?
        var platformOperator: Bool
        var createdAt: Int64
    }

    /// E-mail, profile and operator flag of an identity that is not erased.
    func person(_ identityID: UUID) async throws -> Person? {
        let keyring = keyring
        return try await store.pool.run { connection in
            try Self.person(connection, keyring, identityID, lock: false)
        }
    }

    static func person(_ connection: PGConnection, _ keyring: IMSKeyring, _ identityID: UUID, lock: Bool) throws -> Person? {
        guard let row = try connection.query("""
            SELECT email_enc, profile_enc, platform_operator, created_at FROM ims.identities
            WHERE identity_id = $1 AND erased_at IS NULL \(lock ? "FOR UPDATE" : "")
            """, [.uuid(identityID)]).first else { return nil }
        let email = try keyring.open(try row.bytes(0), connection, table: "identities", column: "email_enc", row: identityID.bytes)
        var profile: ImsV1.Profile?
        if let sealed = try row.optionalBytes(1) {
            let bytes = try keyring.open(sealed, connection, table: "identities", column: "profile_enc", row: identityID.bytes)
            profile = try bytes.withUnsafeBytes { try ImsV1.Profile(serializedBytes: $0, limits: .default) }
        }
        return Person(email: String(decoding: email, as: UTF8.self), profile: profile, platformOperator: try row.bool(2),
                      createdAt: try row.timestampMs(3))
    }

    // MARK: Transactions

    /// `body` between BEGIN and COMMIT on one pool connection, rolled back on any error; run
    /// again once on a serialization failure or deadlock.
    func transaction<T: Sendable>(_ body: @escaping @Sendable (PGConnection) throws -> T) async throws -> T {
        try await store.pool.run { connection in
            var attempt = 1
            while true {
                do {
                    try connection.execute("BEGIN")
                    let value = try body(connection)
                    try connection.execute("COMMIT")
                    return value
                } catch {
                    if connection.isHealthy { try? connection.execute("ROLLBACK") }
                    if let failure = error as? PGError, failure.code == .serializationFailure || failure.code == .deadlock,
                       attempt < 2, connection.isHealthy {
                        attempt += 1
                        continue
                    }
                    throw error
                }
            }
        }
    }
}

/// Keys of `ims.login_throttle`: a type byte, then an HMAC under the IMS blind-index key, so the
/// table names no address or e-mail in clear and an account and a source never collide.
enum Subject {
    static func account(emailIndex: [UInt8]) -> [UInt8] { [0x01] + emailIndex }
    static func source(index: [UInt8]) -> [UInt8] { [0x02] + index }
    /// `ims.reset_throttle`: password-reset requests per address and per source.
    static func resetAccount(emailIndex: [UInt8]) -> [UInt8] { [0x03] + emailIndex }
    static func resetSource(index: [UInt8]) -> [UInt8] { [0x04] + index }
}

