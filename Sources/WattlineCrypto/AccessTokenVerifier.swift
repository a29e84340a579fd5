import Synchronization

/// Verifies access tokens with a key ring of public keys, so any node can check a token
/// without the database. Thread-safe; one instance per process is meant to be shared.
///
/// Order of checks, cheapest and least trusting first: length bound (before any decoding);
/// three canonical base64url segments; header (`alg` exactly `EdDSA`, `typ` `at+jwt`, a `kid`,
/// nothing else, so no `crit`, `jwk`, `jku`…); `kid` in the ring; the signature; only then the
/// claims are decoded and checked (types, `iss`, `aud`, `exp`, `nbf`, `iat`). Session revocation
/// (`sid`) is the caller's check, on every call, cached or not.
public final class AccessTokenVerifier: Sendable {
    public static let defaultLeeway: Duration = .seconds(30)
    public static let maximumLeeway: Duration = .seconds(5 * 60)
    public static let defaultCacheCapacity = 10_000

    public let issuer: String
    public let audience: String
    /// Clock skew tolerated between issuer and verifier, on `exp`, `nbf` and `iat`.
    public let leeway: Duration
    private let leewaySeconds: Int64
    private let cacheEnabled: Bool
    private let state: Mutex<State>

    private struct State {
        var keys: [String: Ed25519PublicKey]
        var cache: VerifiedTokenCache
        var keyRingVersion = 0
    }

    /// - Parameters:
    ///   - keys: the ring, `kid` → key (e.g. `SigningKeyRing.verificationKeys(now:)`).
    ///   - cacheCapacity: verified tokens remembered (0 disables the cache).
    public init(
        keys: [String: Ed25519PublicKey], issuer: String, audience: String, leeway: Duration = defaultLeeway,
        cacheCapacity: Int = defaultCacheCapacity
    ) throws {
        guard leeway >= .zero, leeway <= Self.maximumLeeway, leeway.components.attoseconds == 0 else {
            throw CryptoError(.invalidInput, "leeway must be whole seconds from 0 to \(Self.maximumLeeway)")
        }
        guard cacheCapacity >= 0 else { throw CryptoError(.invalidInput, "cache capacity must not be negative") }
        self.issuer = issuer
        self.audience = audience
        self.leeway = leeway
        leewaySeconds = leeway.components.seconds
        cacheEnabled = cacheCapacity > 0
        state = Mutex(State(keys: keys, cache: VerifiedTokenCache(capacity: cacheCapacity)))
    }

    /// Installs a new ring (after a rotation). Cached tokens verified with a key that is gone,
    /// or now stands under another ID, are dropped, and are refused from this call on.
    public func replaceKeys(_ keys: [String: Ed25519PublicKey]) {
        state.withLock { state in
            state.keys = keys
            state.keyRingVersion += 1
            state.cache.removeAll { keys[$0.keyID] != $0.publicKey }
        }
    }

    /// Changes whenever `replaceKeys` runs, so that callers keeping their own results derived
    /// from verified tokens can drop them when the ring changes.
    public var keyRingVersion: Int { state.withLock { $0.keyRingVersion } }

    /// Leeway in whole seconds, for callers re-checking `exp` on results they keep.
    public var leewayInSeconds: Int64 { leewaySeconds }

    public var keys: [String: Ed25519PublicKey] { state.withLock { $0.keys } }

    /// Tokens currently remembered as verified.
    public var cachedTokenCount: Int { state.withLock { $0.cache.count } }

    /// The claims of `token` if it is valid at `now` (seconds since the epoch); otherwise the
    /// first reason it is not.
    public func verify(_ token: String, now: Int64 = UnixTime.now()) throws(TokenError) -> AccessTokenClaims {
        var token = token
        return try token.withUTF8 { verify(UnsafeRawBufferPointer($0), now: now) }.get()
    }

    private func verify(_ token: UnsafeRawBufferPointer, now: Int64) -> Result<AccessTokenClaims, TokenError> {
        guard token.count <= AccessToken.maximumByteCount else {
            return .failure(.malformed(reason: "token is longer than \(AccessToken.maximumByteCount) bytes"))
        }
        let cacheKey = cacheEnabled ? VerifiedTokenCache.Key(hashing: token) : nil
        if let cacheKey {
            let cached: AccessTokenClaims? = state.withLock { state in
                guard let entry = state.cache.entry(for: cacheKey) else { return nil }
                guard state.keys[entry.keyID] == entry.publicKey else {  // key dropped or replaced since
                    state.cache.remove(cacheKey)
                    return nil
                }
                return entry.claims
            }
            if let cached {
                if let error = timeError(cached, now: now) { return .failure(error) }
                return .success(cached)
            }
        }
        do throws(TokenError) {
            let (claims, keyID, publicKey) = try verifyUncached(token, now: now)
            if let cacheKey {
                state.withLock { state in
                    // Not if the key was dropped while we verified: the result stands for this
                    // call, which began before the drop, but must not outlive it.
                    if state.keys[keyID] == publicKey {
                        state.cache.insert(.init(claims: claims, keyID: keyID, publicKey: publicKey), for: cacheKey)
                    }
                }
            }
            return .success(claims)
        } catch {
            return .failure(error)
        }
    }

    private func verifyUncached(
        _ token: UnsafeRawBufferPointer, now: Int64
    ) throws(TokenError) -> (AccessTokenClaims, keyID: String, publicKey: Ed25519PublicKey) {
        let dot = UInt8(ascii: ".")
        guard let firstDot = token.firstIndex(of: dot),
            let secondDot = token[(firstDot + 1)...].firstIndex(of: dot),
            !token[(secondDot + 1)...].contains(dot)
        else { throw .malformed(reason: "not three dot-separated segments") }
        let headerPart = UnsafeRawBufferPointer(rebasing: token[..<firstDot])
        let payloadPart = UnsafeRawBufferPointer(rebasing: token[(firstDot + 1)..<secondDot])
        let signaturePart = UnsafeRawBufferPointer(rebasing: token[(secondDot + 1)...])

        guard let headerBytes = Base64URL.decode(headerPart) else { throw .malformed(reason: "header is not base64url") }
        let header: JSONValue
        do { header = try JSONParser.parse(headerBytes) } catch { throw .malformed(reason: "header is not valid JSON") }
        let keyID = try Self.checkHeader(header)
        guard let publicKey = state.withLock({ $0.keys[keyID] }) else { throw .unknownKeyID }

        guard let signature = Base64URL.decode(signaturePart), signature.count == Ed25519PublicKey.signatureByteCount else {
            throw .malformed(reason: "signature is not 64 bytes of base64url")
        }
        let signingInput = UnsafeRawBufferPointer(rebasing: token[..<secondDot])
        guard signature.withUnsafeBytes({ publicKey.isValidSignature($0, for: signingInput) }) else { throw .badSignature }

        // Authenticated from here on: what follows was written by a key holder.
        guard let payloadBytes = Base64URL.decode(payloadPart) else { throw .malformed(reason: "claims are not base64url") }
        let payload: JSONValue
        do { payload = try JSONParser.parse(payloadBytes) } catch { throw .malformed(reason: "claims are not valid JSON") }
        let claims = try AccessTokenClaims(json: payload)
        guard claims.issuer == issuer else { throw .wrongIssuer }
        guard claims.audience == audience else { throw .wrongAudience }
        if let error = timeError(claims, now: now) { throw error }
        return (claims, keyID, publicKey)
    }

    /// The header's `kid`, if the header is exactly what our issuers write (members in any order).
    private static func checkHeader(_ header: JSONValue) throws(TokenError) -> String {
        guard case let .object(members) = header else { throw .malformed(reason: "header is not a JSON object") }
        var algorithm: String?, keyID: String?, type: String?
        for (name, value) in members {
            guard case let .string(string) = value else {
                throw .malformed(reason: name == "crit" ? "header 'crit' is not supported" : "header parameter is not a string")
            }
            switch name {
            case "alg": algorithm = string
            case "kid": keyID = string
            case "typ": type = string
            case "crit": throw .malformed(reason: "header 'crit' is not supported")
            default: throw .malformed(reason: "header has a parameter other than alg, kid and typ")
            }
        }
        guard algorithm == AccessToken.algorithm else { throw .malformed(reason: "header 'alg' is not EdDSA") }
        guard let type, isAccessTokenType(type) else { throw .malformed(reason: "header 'typ' is not at+jwt") }
        guard let keyID else { throw .malformed(reason: "header has no 'kid'") }
        guard isKeyID(keyID) else { throw .malformed(reason: "header 'kid' is not a valid key ID") }
        return keyID
    }

    /// Written without adding to `now`, which is the caller's and could be anything; the claims'
    /// times are bounded (year 9999), so `exp + leeway` and `iat - leeway` cannot overflow.
    private func timeError(_ claims: AccessTokenClaims, now: Int64) -> TokenError? {
        if now >= claims.expiresAt + leewaySeconds { return .expired }
        if claims.issuedAt - leewaySeconds > now { return .notYetValid }
        if let notBefore = claims.notBefore, notBefore - leewaySeconds > now { return .notYetValid }
        return nil
    }
}

/// RFC 9068 §4: `at+jwt`, or with the `application/` prefix RFC 7515 §4.1.9 lets a producer
/// omit; media types compare case-insensitively.
func isAccessTokenType(_ type: String) -> Bool {
    let lowered = type.lowercased()
    return lowered == AccessToken.type || lowered == "application/" + AccessToken.type
}
