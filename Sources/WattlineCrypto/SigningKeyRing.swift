/// The identity service's token-signing keys, rotated with overlap so that no valid token ever
/// meets a verifier that lacks its key:
///
/// 1. `stage(_:)` a new key: it is published (in `verificationKeys`) but signs nothing yet.
///    Wait until every verifier has reloaded the published set.
/// 2. `rotate(now:)`: the staged key signs from then on; the old one retires, and its public
///    key stays published until `now + retention`, when the last token it can have signed has
///    expired even with the largest leeway.
/// 3. `prune(now:)` forgets retired keys past that time (`verificationKeys` omits them already).
///
/// Key IDs are derived from the public keys (`Ed25519PublicKey.keyID`), so every node names a key
/// the same way. A value type: persisting it (seeds wrapped under the master key, the retired
/// public keys with their times) and handing the published set to verifiers is the caller's job.
public struct SigningKeyRing: Sendable {
    /// A key that no longer signs but whose tokens may still be live.
    public struct RetiredKey: Sendable, Hashable {
        public let publicKey: Ed25519PublicKey
        /// Seconds since the epoch after which no token signed by this key can be valid.
        public let keepUntil: Int64

        public var keyID: String { publicKey.keyID }

        public init(publicKey: Ed25519PublicKey, keepUntil: Int64) {
            self.publicKey = publicKey
            self.keepUntil = keepUntil
        }
    }

    /// The longest token lifetime plus the largest verifier leeway.
    public static let defaultRetention: Duration = AccessToken.maximumLifetime + AccessTokenVerifier.maximumLeeway

    public private(set) var current: Ed25519SigningKey
    public private(set) var staged: Ed25519SigningKey?
    public private(set) var retired: [RetiredKey]
    public let retention: Duration

    /// Also rebuilds a stored ring. Throws if two keys share an ID or `retention` is shorter than
    /// `AccessToken.maximumLifetime`.
    public init(
        current: Ed25519SigningKey, staged: Ed25519SigningKey? = nil, retired: [RetiredKey] = [],
        retention: Duration = defaultRetention
    ) throws {
        guard retention >= AccessToken.maximumLifetime else {
            throw CryptoError(.invalidInput, "retention must be at least the maximum token lifetime \(AccessToken.maximumLifetime)")
        }
        let keyIDs = [current.keyID] + (staged.map { [$0.keyID] } ?? []) + retired.map(\.keyID)
        guard Set(keyIDs).count == keyIDs.count else { throw CryptoError(.invalidInput, "signing key ring has a duplicate key ID") }
        self.current = current
        self.staged = staged
        self.retired = retired
        self.retention = retention
    }

    /// Publishes `key` ahead of its use. Throws if a key is already staged or `key` is in the ring.
    public mutating func stage(_ key: Ed25519SigningKey) throws {
        guard staged == nil else { throw CryptoError(.invalidInput, "a key is already staged; rotate first") }
        guard key.keyID != current.keyID, !retired.contains(where: { $0.keyID == key.keyID }) else {
            throw CryptoError(.invalidInput, "key '\(key.keyID)' is already in the signing key ring")
        }
        staged = key
    }

    /// Makes the staged key current and retires the current one until `now + retention`.
    public mutating func rotate(now: Int64) throws {
        guard let next = staged else { throw CryptoError(.invalidInput, "no key is staged; stage one and let verifiers load it first") }
        retired.append(RetiredKey(publicKey: current.publicKey, keepUntil: now + retention.components.seconds))
        current = next
        staged = nil
    }

    /// Withdraws a staged or retired key at once (e.g. it leaked): its tokens fail from the next
    /// time verifiers load the published set. The current key cannot be revoked; rotate first.
    public mutating func revoke(keyID: String) throws {
        guard keyID != current.keyID else { throw CryptoError(.invalidInput, "cannot revoke the current signing key; rotate first") }
        if staged?.keyID == keyID { staged = nil }
        retired.removeAll { $0.keyID == keyID }
    }

    /// Forgets retired keys whose tokens have all expired.
    public mutating func prune(now: Int64) {
        retired.removeAll { $0.keepUntil <= now }
    }

    /// The published set: what every verifier should hold at `now` (current, staged, and retired
    /// keys still within their retention), by key ID.
    public func verificationKeys(now: Int64) -> [String: Ed25519PublicKey] {
        var keys = [current.keyID: current.publicKey]
        if let staged { keys[staged.keyID] = staged.publicKey }
        for key in retired where key.keepUntil > now { keys[key.keyID] = key.publicKey }
        return keys
    }

    /// An issuer signing with the current key under its derived key ID.
    public func issuer(issuer: String, audience: String, lifetime: Duration = .seconds(10 * 60)) throws -> AccessTokenIssuer {
        try AccessTokenIssuer(signingKey: current, issuer: issuer, audience: audience, lifetime: lifetime)
    }
}
