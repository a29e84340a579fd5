import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore

/// Administrative operations on identities, outside the RPC surface: development bootstrap,
/// tests, and later the CLI's "create operator".
public struct ImsAdmin: Sendable {
    public enum Failure: Error, Equatable, CustomStringConvertible {
        case invalidEmail
        case weakPassword(String)
        case alreadyExists

        public var description: String {
            switch self {
            case .invalidEmail: "an e-mail address needs a local part, an @ and a domain (at most 254 characters)"
            case .weakPassword(let reason): "password refused: \(reason)"
            case .alreadyExists: "an identity with this e-mail address already exists"
            }
        }
    }

    let store: Store
    let keyring: IMSKeyring
    let hasher: PasswordHasher

    /// `store` must be connected as `wattline_ims`.
    public init(store: Store, keyring: IMSKeyring, hasher: PasswordHasher = PasswordHasher()) {
        self.store = store
        self.keyring = keyring
        self.hasher = hasher
    }

    /// Creates an identity that can sign in with `email` and `password` (NFC-normalised, 12 to
    /// 256 characters, no control characters). Returns its id.
    @discardableResult
    public func createIdentity(email: String, password: String, platformOperator: Bool = false,
                               displayName: String? = nil) async throws -> UUID {
        let normalized = ImsService.normalizeEmail(email)
        guard normalized.unicodeScalars.count <= 254, let at = normalized.firstIndex(of: "@"),
              at != normalized.startIndex, normalized.index(after: at) != normalized.endIndex,
              !normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else { throw Failure.invalidEmail }
        let password = password.precomposedStringWithCanonicalMapping
        let length = password.unicodeScalars.count
        guard (12...256).contains(length) else { throw Failure.weakPassword("it must have 12 to 256 characters") }
        guard !password.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw Failure.weakPassword("it must not contain control characters")
        }
        let hash = try hasher.hash(password)
        let identityID = UUIDv7.generate(now: ImsService.nowMs())
        var profile: [UInt8]?
        if let displayName {
            var value = ImsV1.Profile()
            value.displayName = displayName
            profile = value.serializedBytes()
        }
        let keyring = keyring
        let profileBytes = profile
        do {
            try await store.pool.run { connection in
                let row = identityID.bytes
                let index = try keyring.blindIndex(Array(normalized.utf8), connection)
                let emailEnc = try keyring.seal(Array(normalized.utf8), connection, table: "identities", column: "email_enc", row: row)
                let profileEnc: PGValue = try profileBytes.map {
                    .bytea(try keyring.seal($0, connection, table: "identities", column: "profile_enc", row: row))
                } ?? .null
                let keyID = try keyring.ensureKey(connection)
                try connection.query("""
                    INSERT INTO ims.identities (identity_id, email_enc, email_index, password_hash, profile_enc, platform_operator, key_id)
                    VALUES ($1, $2, $3, $4, $5, $6, $7)
                    """, [.uuid(identityID), .bytea(emailEnc), .bytea(index), .text(hash), profileEnc,
                          .bool(platformOperator), .int32(keyID)])
            }
        } catch let error as PGError where error.code == .uniqueViolation {
            throw Failure.alreadyExists
        }
        return identityID
    }

    /// Deletes sessions that ended (revoked or expired) before `cutoff` (ms since the epoch),
    /// with their retired refresh-token hashes, and throttle rows idle since then; returns the
    /// number of sessions deleted. For a periodic job (not scheduled yet): keep `cutoff` at
    /// least an access token's lifetime in the past so that `isSessionRevoked` keeps answering
    /// "ended" for their tokens from the database (an unknown session also counts as ended).
    @discardableResult
    public func purgeEndedSessions(endedBefore cutoff: Int64) async throws -> Int {
        try await store.pool.run { connection in
            try connection.query(
                "DELETE FROM ims.login_throttle WHERE updated_at < $1 AND (locked_until IS NULL OR locked_until < $1)",
                [.timestampMs(cutoff)])
            return try connection.query(
                "DELETE FROM ims.sessions WHERE revoked_at < $1 OR expires_at < $1", [.timestampMs(cutoff)]).affectedRows
        }
    }
}
