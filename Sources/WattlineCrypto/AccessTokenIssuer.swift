import COpenSSL

/// Issues access tokens signed with one Ed25519 key (see `AccessToken` for the format).
///
/// Lifetimes are short (at most 15 minutes) because the token itself is never looked up: a
/// verifier can only refuse it by its `exp`, its key, or a revoked `sid`.
public struct AccessTokenIssuer: Sendable {
    public let keyID: String
    public let issuer: String
    public let audience: String
    public let lifetime: Duration
    private let signingKey: Ed25519SigningKey
    /// The encoded header is the same for every token of this issuer.
    private let encodedHeader: [UInt8]

    /// - Parameters:
    ///   - keyID: the JWS `kid`; defaults to the key's derived ID (`Ed25519PublicKey.keyID`).
    ///   - lifetime: whole seconds, 1 s to `AccessToken.maximumLifetime`.
    public init(
        signingKey: Ed25519SigningKey, keyID: String? = nil, issuer: String, audience: String,
        lifetime: Duration = .seconds(10 * 60)
    ) throws {
        let keyID = keyID ?? signingKey.keyID
        guard isKeyID(keyID) else { throw CryptoError(.invalidInput, "key ID must be 1 to 64 characters from [A-Za-z0-9._-]") }
        guard isToken(issuer, maximumCount: 256), isToken(audience, maximumCount: 256) else {
            throw CryptoError(.invalidInput, "issuer and audience must be 1 to 256 printable ASCII characters")
        }
        guard lifetime >= .seconds(1), lifetime <= AccessToken.maximumLifetime, lifetime.components.attoseconds == 0 else {
            throw CryptoError(.invalidInput, "token lifetime must be whole seconds from 1 s to \(AccessToken.maximumLifetime)")
        }
        self.signingKey = signingKey
        self.keyID = keyID
        self.issuer = issuer
        self.audience = audience
        self.lifetime = lifetime
        var header = JSONObjectWriter()
        header.add("alg", AccessToken.algorithm)
        header.add("kid", keyID)
        header.add("typ", AccessToken.type)
        var encoded: [UInt8] = []
        header.finish().withUnsafeBytes { Base64URL.encode($0, appendingTo: &encoded) }
        encodedHeader = encoded
    }

    /// Signs a token for `subject` valid from `now` (or `notBefore`) for `lifetime`. Ids are
    /// lowercase UUID strings. Throws `.invalidInput` for claims a verifier would refuse, and
    /// when the token would exceed `AccessToken.maximumByteCount` (too many roles: issue a
    /// token scoped to one tenant instead).
    public func issue(
        subject: String, sessionID: String, tenantID: String? = nil, roles: [String], scope: String? = nil,
        notBefore: Int64? = nil, now: Int64 = UnixTime.now()
    ) throws -> AccessToken {
        var tokenID = [UInt8](repeating: 0, count: 16)
        try checkOpenSSL(RAND_bytes(&tokenID, Int32(tokenID.count)), "RAND_bytes")
        let claims = AccessTokenClaims(
            issuer: issuer, subject: subject, audience: audience, expiresAt: now + lifetime.components.seconds,
            issuedAt: now, notBefore: notBefore, tokenID: Base64URL.encode(tokenID), sessionID: sessionID,
            tenantID: tenantID, roles: roles, scope: scope)
        return try sign(claims)
    }

    /// Signs `claims` as they are (after the same checks a verifier makes). For tests and tools;
    /// `issue` is the normal path.
    package func sign(_ claims: AccessTokenClaims) throws -> AccessToken {
        if let problem = claims.problem(maximumLifetime: AccessToken.maximumLifetime.components.seconds) {
            throw CryptoError(.invalidInput, "cannot issue token: \(problem)")
        }
        let payload = claims.encoded()
        var token = encodedHeader
        token.reserveCapacity(
            encodedHeader.count + 2 + Base64URL.encodedCount(payload.count)
                + Base64URL.encodedCount(Ed25519PublicKey.signatureByteCount))
        token.append(UInt8(ascii: "."))
        payload.withUnsafeBytes { Base64URL.encode($0, appendingTo: &token) }
        let signature = try token.withUnsafeBytes { signingInput in
            try [UInt8](unsafeUninitializedCapacity: Ed25519PublicKey.signatureByteCount) { buffer, count in
                try signingKey.sign(signingInput, into: UnsafeMutableRawBufferPointer(buffer))
                count = Ed25519PublicKey.signatureByteCount
            }
        }
        token.append(UInt8(ascii: "."))
        signature.withUnsafeBytes { Base64URL.encode($0, appendingTo: &token) }
        guard token.count <= AccessToken.maximumByteCount else {
            throw CryptoError(
                .invalidInput,
                "token would be \(token.count) bytes, over the \(AccessToken.maximumByteCount)-byte limit (\(claims.roles.count) roles)")
        }
        return AccessToken(value: String(decoding: token, as: UTF8.self), claims: claims)
    }
}

/// `kid` values: short, and safe in logs and file names.
func isKeyID(_ keyID: String) -> Bool {
    let utf8 = keyID.utf8
    return (1...64).contains(utf8.count)
        && utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
}
