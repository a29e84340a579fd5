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

    /// Creates an identity that can sign in with `email` and `password` (`PasswordPolicy`: 12 to
    /// 256 characters after NFC, no control characters, not a common password). Returns its id.
    @discardableResult
    public func createIdentity(email: String, password: String, platformOperator: Bool = false,
                               displayName: String? = nil) async throws -> UUID {
        let normalized = ImsService.normalizeEmail(email)
        guard normalized.unicodeScalars.count <= 254, let at = normalized.firstIndex(of: "@"),
              at != normalized.startIndex, normalized.index(after: at) != normalized.endIndex,
              !normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control || $0 == " " })
        else { throw Failure.invalidEmail }
        let normalizedPassword: String
        switch PasswordPolicy.check(password) {
        case .success(let normalized): normalizedPassword = normalized
        case .failure(let refusal): throw Failure.weakPassword(refusal.reason)
        }
        let hash = try hasher.hash(normalizedPassword)
        let identityID = UUID.v7(now: ImsService.nowMs())
        var profile: ImsV1.Profile?
        if let displayName {
            var value = ImsV1.Profile()
            value.displayName = displayName
            profile = value
        }
        let keyring = keyring
        let initialProfile = profile
        do {
            try await store.pool.run { connection in
                try ImsStore.insertIdentity(connection, keyring: keyring, identityID: identityID, normalizedEmail: normalized,
                                            passwordHash: hash, profile: initialProfile, platformOperator: platformOperator)
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
