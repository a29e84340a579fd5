import Testing
import WattlineCrypto
import WattlineTestSupport

// Fixed identities and times, so failures reproduce.
private let subjectID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b"
private let sessionID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c"
private let tenantID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"
private let siteID = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5e"
private let issuerName = "https://ims.wattline.test"
private let audienceName = "wattline-api"
private let t0: Int64 = 1_800_000_000
private let roles = ["tenant:\(tenantID):admin", "site:\(siteID):responsible"]

// RFC 8032 §7.1, test 1 (also the key of RFC 8037 appendix A).
private let rfc8032Test1Seed = hex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
private let rfc8032Test1Public = hex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")

private func signingKey(_ seed: [UInt8]) throws -> Ed25519SigningKey {
    try Ed25519SigningKey(seed: SecretKey(bytes: seed))
}

private func makeIssuer(_ key: Ed25519SigningKey, lifetime: Duration = .seconds(600)) throws -> AccessTokenIssuer {
    try AccessTokenIssuer(signingKey: key, issuer: issuerName, audience: audienceName, lifetime: lifetime)
}

private func makeVerifier(
    _ keys: [Ed25519PublicKey], issuer: String = issuerName, audience: String = audienceName, cacheCapacity: Int = 1_000
) throws -> AccessTokenVerifier {
    try AccessTokenVerifier(
        keys: Dictionary(uniqueKeysWithValues: keys.map { ($0.keyID, $0) }), issuer: issuer, audience: audience,
        cacheCapacity: cacheCapacity)
}

private func issue(_ issuer: AccessTokenIssuer, now: Int64 = t0, notBefore: Int64? = nil) throws -> AccessToken {
    try issuer.issue(subject: subjectID, sessionID: sessionID, tenantID: tenantID, roles: roles, scope: "telemetry.read", notBefore: notBefore, now: now)
}

/// The TokenError `body` throws, or nil (recording an issue) if it returns or throws another error.
private func tokenError(_ body: () throws -> AccessTokenClaims, sourceLocation: SourceLocation = #_sourceLocation) -> TokenError? {
    do {
        _ = try body()
        Issue.record("expected a TokenError, the token verified", sourceLocation: sourceLocation)
    } catch let error as TokenError {
        return error
    } catch {
        Issue.record("expected a TokenError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

private func isMalformed(_ error: TokenError?) -> Bool {
    if case .malformed = error { return true }
    return false
}

/// A compact JWS over arbitrary header and payload text, signed with `key`.
private func craft(header: String, payload: String, key: Ed25519SigningKey) throws -> String {
    let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(payload.utf8))
    return input + "." + Base64URL.encode(try key.sign(Array(input.utf8)))
}

private func standardHeader(_ key: Ed25519SigningKey) -> String {
    #"{"alg":"EdDSA","kid":"\#(key.keyID)","typ":"at+jwt"}"#
}

private func payload(exp: String = "\(t0 + 600)", extra: String = "") -> String {
    #"{"aud":"\#(audienceName)","exp":\#(exp),"iat":\#(t0),"iss":"\#(issuerName)","jti":"abc","roles":[],"sid":"\#(sessionID)","sub":"\#(subjectID)"\#(extra)}"#
}

private func segments(_ token: String) -> [String] { token.split(separator: ".", omittingEmptySubsequences: false).map(String.init) }


@Suite struct AccessTokenTests {
    let key = try! signingKey(rfc8032Test1Seed)

    @Test func roundTrip() throws {
        let issuer = try makeIssuer(key)
        let token = try issue(issuer)
        let claims = try makeVerifier([key.publicKey]).verify(token.value, now: t0 + 1)
        #expect(claims == token.claims)
        #expect(claims.subject == subjectID && claims.sessionID == sessionID && claims.tenantID == tenantID)
        #expect(claims.roles == roles && claims.scope == "telemetry.read")
        #expect(claims.expiresAt == t0 + 600 && claims.issuedAt == t0 && claims.notBefore == nil)
        #expect(Base64URL.decode(claims.tokenID)?.count == 16)
        #expect(token.expiresAtMilliseconds == (t0 + 600) * 1000)

        let parts = segments(token.value)
        #expect(parts.count == 3)
        #expect(String(decoding: Base64URL.decode(parts[0])!, as: UTF8.self) == #"{"alg":"EdDSA","kid":"\#(key.keyID)","typ":"at+jwt"}"#)
        let expectedPayload =
            #"{"aud":"wattline-api","exp":\#(t0 + 600),"iat":\#(t0),"iss":"https://ims.wattline.test","jti":"\#(claims.tokenID)","#
            + #""roles":["\#(roles[0])","\#(roles[1])"],"scope":"telemetry.read","sid":"\#(sessionID)","sub":"\#(subjectID)","tid":"\#(tenantID)"}"#
        #expect(String(decoding: Base64URL.decode(parts[1])!, as: UTF8.self) == expectedPayload)
        #expect(try issue(issuer).claims.tokenID != claims.tokenID)
    }

    @Test func optionalClaimsOmittedAndPlatformRole() throws {
        let token = try makeIssuer(key).issue(subject: subjectID, sessionID: sessionID, roles: ["platform:operator"], now: t0)
        let claims = try makeVerifier([key.publicKey]).verify(token.value, now: t0)
        #expect(claims.tenantID == nil && claims.scope == nil && claims.notBefore == nil && claims.roles == ["platform:operator"])
        let payload = String(decoding: Base64URL.decode(segments(token.value)[1])!, as: UTF8.self)
        #expect(!payload.contains("tid") && !payload.contains("scope") && !payload.contains("nbf"))
    }

    @Test func expiryWithLeeway() throws {
        let token = try issue(makeIssuer(key, lifetime: .seconds(300)))
        let verifier = try makeVerifier([key.publicKey], cacheCapacity: 0)
        #expect(try verifier.verify(token.value, now: t0 + 300 + 29).expiresAt == t0 + 300)
        #expect(tokenError { try verifier.verify(token.value, now: t0 + 300 + 30) } == .expired)
        #expect(tokenError { try verifier.verify(token.value, now: Int64.max) } == .expired)
    }

    @Test func notYetValid() throws {
        let issuer = try makeIssuer(key)
        let verifier = try makeVerifier([key.publicKey], cacheCapacity: 0)
        // iat in the future: within the leeway is clock skew, beyond it is refused.
        #expect(throws: Never.self) { try verifier.verify(try issue(issuer, now: t0 + 30).value, now: t0) }
        #expect(tokenError { try verifier.verify(try! issue(issuer, now: t0 + 31).value, now: t0) } == .notYetValid)
        // nbf likewise.
        let later = try issue(issuer, notBefore: t0 + 120)
        #expect(tokenError { try verifier.verify(later.value, now: t0 + 89) } == .notYetValid)
        #expect(try verifier.verify(later.value, now: t0 + 90).notBefore == t0 + 120)
        #expect(tokenError { try verifier.verify(later.value, now: Int64.min) } == .notYetValid)
    }

    /// Every character of every segment, one bit flipped; then every bit of the decoded
    /// payload and signature, re-encoded. Nothing verifies.
    @Test func tamperedTokensFail() throws {
        let token = try issue(makeIssuer(key))
        let verifier = try makeVerifier([key.publicKey], cacheCapacity: 0)
        let bytes = Array(token.value.utf8)
        let parts = segments(token.value)
        let headerEnd = parts[0].utf8.count
        for index in bytes.indices where bytes[index] != UInt8(ascii: ".") {
            var tampered = bytes
            tampered[index] ^= 0x01
            let error = tokenError { try verifier.verify(String(decoding: tampered, as: UTF8.self), now: t0) }
            let allowed: Bool =
                if index < headerEnd { error == .badSignature || error == .unknownKeyID || isMalformed(error) }
                else { error == .badSignature || isMalformed(error) }
            #expect(allowed, "byte \(index) flipped: \(String(describing: error))")
        }
        // Decoded bits: the header's (which decide kid/alg/typ) and the payload's and signature's.
        for (segment, allowUnknownKey) in [(0, true), (1, false), (2, false)] {
            let decoded = Base64URL.decode(parts[segment])!
            for byte in decoded.indices {
                for bit in [0, 5] {
                    var flipped = decoded
                    flipped[byte] ^= 1 << bit
                    var tamperedParts = parts
                    tamperedParts[segment] = Base64URL.encode(flipped)
                    let error = tokenError { try verifier.verify(tamperedParts.joined(separator: "."), now: t0) }
                    let allowed =
                        error == .badSignature || isMalformed(error) && segment == 0 || allowUnknownKey && error == .unknownKeyID
                    #expect(allowed, "segment \(segment) byte \(byte) bit \(bit): \(String(describing: error))")
                }
            }
        }
    }

    @Test func unknownKeyWrongAudienceWrongIssuer() throws {
        let token = try issue(makeIssuer(key))
        let other = try Ed25519SigningKey.generate()
        let otherKey = try makeVerifier([other.publicKey])
        let otherAudience = try makeVerifier([key.publicKey], audience: "other-api")
        let otherIssuer = try makeVerifier([key.publicKey], issuer: "https://evil.test")
        #expect(tokenError { try otherKey.verify(token.value, now: t0) } == .unknownKeyID)
        #expect(tokenError { try otherAudience.verify(token.value, now: t0) } == .wrongAudience)
        #expect(tokenError { try otherIssuer.verify(token.value, now: t0) } == .wrongIssuer)
        // The right kid but another key behind it: the signature does not verify.
        let swapped = try AccessTokenVerifier(keys: [key.keyID: other.publicKey], issuer: issuerName, audience: audienceName)
        #expect(tokenError { try swapped.verify(token.value, now: t0) } == .badSignature)
    }

    @Test func algorithmNoneAndHS256Refused() throws {
        let verifier = try makeVerifier([key.publicKey])
        let body = Base64URL.encode(Array(payload().utf8))
        for alg in ["none", "None", "HS256", "RS256", "ES256", "Ed25519", "eddsa"] {
            let header = Base64URL.encode(Array(#"{"alg":"\#(alg)","kid":"\#(key.keyID)","typ":"at+jwt"}"#.utf8))
            let input = header + "." + body
            // Unsigned, HMAC keyed with the public key (the classic confusion), and Ed25519-signed.
            let hmac = try hmacSHA256(key: key.publicKey.rawRepresentation, message: Array(input.utf8))
            for signature in ["", Base64URL.encode(hmac), Base64URL.encode(try key.sign(Array(input.utf8)))] {
                let error = tokenError { try verifier.verify(input + "." + signature, now: t0) }
                #expect(error == .malformed(reason: "header 'alg' is not EdDSA"), "alg \(alg)")
            }
        }
    }

    @Test func headerRules() throws {
        let verifier = try makeVerifier([key.publicKey])
        let kid = key.keyID
        let refused = [
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","crit":["exp"]}"#,
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"JWT"}"#,
            #"{"alg":"EdDSA","kid":"\#(kid)"}"#,
            #"{"alg":"EdDSA","typ":"at+jwt"}"#,
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","jku":"https://evil.test/jwks"}"#,
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","alg":"EdDSA"}"#,
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt","kid":"\#(kid)"}"#,
            #"{"alg":"EdDSA","kid":7,"typ":"at+jwt"}"#,
            #"{"alg":"EdDSA","kid":"../../etc/passwd","typ":"at+jwt"}"#,
            #"["EdDSA"]"#,
            #"{"alg":"EdDSA","kid":"\#(kid)","typ":"at+jwt"} "# + "x",
        ]
        for header in refused {
            let error = tokenError { try verifier.verify(try! craft(header: header, payload: payload(), key: key), now: t0) }
            #expect(isMalformed(error), "\(header): \(String(describing: error))")
        }
        let crit = tokenError { try verifier.verify(try! craft(header: refused[0], payload: payload(), key: key), now: t0) }
        #expect(crit == .malformed(reason: "header 'crit' is not supported"))
        // Member order, whitespace and the application/ prefix are fine.
        for header in [
            #"{"typ":"at+jwt","kid":"\#(kid)","alg":"EdDSA"}"#,
            #" { "alg" : "EdDSA" , "kid" : "\#(kid)" , "typ" : "application/AT+JWT" } "#,
        ] {
            #expect(throws: Never.self) { try verifier.verify(try craft(header: header, payload: payload(), key: key), now: t0) }
        }
    }

    /// Signed by the right key, but the claims break a rule: refused all the same.
    @Test func claimRules() throws {
        let verifier = try makeVerifier([key.publicKey])
        let header = standardHeader(key)
        #expect(throws: Never.self) { try verifier.verify(try craft(header: header, payload: payload(), key: key), now: t0) }
        let refused = [
            "[]", #""claims""#, "{}", "null",
            payload(exp: #""1800000600""#),
            payload(exp: "1800000600.5"),
            payload(exp: "1.8e9"),
            payload(exp: "-1"),
            payload(exp: "99999999999999999999"),
            payload(exp: "null"),
            payload(exp: "\(t0)"),  // not after iat
            payload(exp: "\(t0 + 901)"),  // longer than 15 minutes
            payload(extra: #","exp":\#(t0 + 60)"#),  // duplicate claim
            payload(extra: #","tid":null"#),
            payload(extra: #","tid":"0190A1B2-C3D4-7E5F-8A9B-0C1D2E3F4A5D""#),
            payload(extra: #","nbf":\#(t0 + 600)"#),
            payload(extra: #","scope":"  two  spaces""#),
            payload().replacingOccurrences(of: #""roles":[]"#, with: #""roles":"admin""#),
            payload().replacingOccurrences(of: #""roles":[]"#, with: #""roles":[1]"#),
            payload().replacingOccurrences(of: #""roles":[]"#, with: #""roles":["a b"]"#),
            payload().replacingOccurrences(of: #""roles":[],"#, with: ""),
            payload().replacingOccurrences(of: subjectID, with: "not-a-uuid"),
            payload().replacingOccurrences(of: #""jti":"abc""#, with: #""jti":"a\u0000b""#),
            payload().replacingOccurrences(of: #""jti":"abc""#, with: #""jti":"\ud800""#),
        ]
        for body in refused {
            let error = tokenError { try verifier.verify(try! craft(header: header, payload: body, key: key), now: t0) }
            #expect(isMalformed(error), "\(body): \(String(describing: error))")
        }
        // Claims this version does not know are ignored.
        let extra = payload(extra: #","x-future":{"nested":[1,2.5,true,null]}"#)
        #expect(try verifier.verify(try craft(header: header, payload: extra, key: key), now: t0).tokenID == "abc")
    }

    @Test func oversizeRefusedBeforeParsing() throws {
        let verifier = try makeVerifier([key.publicKey])
        let limit = AccessToken.maximumByteCount
        let garbage = String(repeating: "a", count: limit + 1)
        #expect(tokenError { try verifier.verify(garbage, now: t0) } == .malformed(reason: "token is longer than \(limit) bytes"))
        // Correctly signed but too long: still refused on length alone.
        let padding = String(repeating: "x", count: limit)
        let long = try craft(header: standardHeader(key), payload: payload(extra: #","pad":"\#(padding)""#), key: key)
        #expect(tokenError { try verifier.verify(long, now: t0) } == .malformed(reason: "token is longer than \(limit) bytes"))
        // The issuer will not produce one either.
        let many = (0..<200).map { "site:\(siteID):responsible-\($0)" }
        #expect(throws: CryptoError.self) { try makeIssuer(key).issue(subject: subjectID, sessionID: sessionID, roles: many, now: t0) }
    }

    @Test func issuerRefusesWhatAVerifierWould() throws {
        let issuer = try makeIssuer(key)
        #expect(throws: CryptoError.self) { try issuer.issue(subject: "ALICE", sessionID: sessionID, roles: [], now: t0) }
        #expect(throws: CryptoError.self) { try issuer.issue(subject: subjectID, sessionID: "", roles: [], now: t0) }
        #expect(throws: CryptoError.self) { try issuer.issue(subject: subjectID, sessionID: sessionID, roles: ["bad role"], now: t0) }
        #expect(throws: CryptoError.self) { try issuer.issue(subject: subjectID, sessionID: sessionID, roles: [], scope: "", now: t0) }
        #expect(throws: CryptoError.self) { try makeIssuer(key, lifetime: .seconds(901)) }
        #expect(throws: CryptoError.self) { try makeIssuer(key, lifetime: .zero) }
        #expect(throws: CryptoError.self) {
            try AccessTokenIssuer(signingKey: key, issuer: "with space", audience: audienceName)
        }
        #expect(throws: CryptoError.self) {
            try AccessTokenVerifier(keys: [:], issuer: issuerName, audience: audienceName, leeway: .seconds(301))
        }
    }

    @Test func rotationWithOverlap() throws {
        let old = key
        var ring = try SigningKeyRing(current: old)
        let oldToken = try issue(ring.issuer(issuer: issuerName, audience: audienceName))
        let verifier = try AccessTokenVerifier(keys: ring.verificationKeys(now: t0), issuer: issuerName, audience: audienceName)
        #expect(throws: Never.self) { try verifier.verify(oldToken.value, now: t0) }  // now cached

        // Stage: published before it signs anything.
        let new = try Ed25519SigningKey.generate()
        try ring.stage(new)
        #expect(Set(ring.verificationKeys(now: t0).keys) == [old.keyID, new.keyID])
        #expect(throws: CryptoError.self) { try ring.stage(try Ed25519SigningKey.generate()) }
        verifier.replaceKeys(ring.verificationKeys(now: t0 + 10))

        // Rotate: the new key signs; the old one's tokens still verify during the overlap.
        try ring.rotate(now: t0 + 60)
        #expect(ring.current.keyID == new.keyID)
        #expect(ring.retired.map(\.keyID) == [old.keyID])
        #expect(ring.retired[0].keepUntil == t0 + 60 + 20 * 60)
        verifier.replaceKeys(ring.verificationKeys(now: t0 + 60))
        let newToken = try issue(ring.issuer(issuer: issuerName, audience: audienceName), now: t0 + 60)
        #expect(segments(newToken.value)[0] != segments(oldToken.value)[0])
        #expect(try verifier.verify(oldToken.value, now: t0 + 300).subject == subjectID)
        #expect(try verifier.verify(newToken.value, now: t0 + 300).subject == subjectID)
        #expect(verifier.cachedTokenCount == 2)

        // Past the retention the old key leaves the published set.
        let after = t0 + 60 + 20 * 60
        #expect(ring.verificationKeys(now: after - 1)[old.keyID] != nil)
        #expect(ring.verificationKeys(now: after)[old.keyID] == nil)
        ring.prune(now: after)
        #expect(ring.retired.isEmpty)
        verifier.replaceKeys(ring.verificationKeys(now: after))
        #expect(verifier.cachedTokenCount == 1)
        #expect(tokenError { try verifier.verify(oldToken.value, now: after) } == .unknownKeyID)

        #expect(throws: CryptoError.self) { try ring.revoke(keyID: new.keyID) }
        #expect(throws: CryptoError.self) { try ring.rotate(now: after) }
    }

    /// A cached token whose key is dropped while the token is still within its lifetime.
    @Test func droppedKeyInvalidatesCachedTokens() throws {
        var ring = try SigningKeyRing(current: key)
        let token = try issue(ring.issuer(issuer: issuerName, audience: audienceName))
        let verifier = try AccessTokenVerifier(keys: ring.verificationKeys(now: t0), issuer: issuerName, audience: audienceName)
        _ = try verifier.verify(token.value, now: t0)
        #expect(verifier.cachedTokenCount == 1)
        try ring.stage(Ed25519SigningKey.generate())
        try ring.rotate(now: t0 + 1)
        try ring.revoke(keyID: key.keyID)  // leaked: withdraw at once
        #expect(ring.verificationKeys(now: t0 + 2)[key.keyID] == nil)
        verifier.replaceKeys(ring.verificationKeys(now: t0 + 2))
        #expect(verifier.cachedTokenCount == 0)
        #expect(tokenError { try verifier.verify(token.value, now: t0 + 2) } == .unknownKeyID)
        #expect(verifier.cachedTokenCount == 0)
    }

    @Test func cacheHitStillEnforcesExpiry() throws {
        let token = try issue(makeIssuer(key, lifetime: .seconds(60)))
        let verifier = try makeVerifier([key.publicKey])
        _ = try verifier.verify(token.value, now: t0)
        #expect(verifier.cachedTokenCount == 1)
        #expect(try verifier.verify(token.value, now: t0 + 89).issuedAt == t0)  // a hit, within exp + leeway
        #expect(tokenError { try verifier.verify(token.value, now: t0 + 90) } == .expired)
        #expect(tokenError { try verifier.verify(token.value, now: t0 - 31) } == .notYetValid)  // clock stepped back
        #expect(verifier.cachedTokenCount == 1)
    }

    @Test func cacheStoresOnlySuccessesAndStaysBounded() throws {
        let issuer = try makeIssuer(key)
        let verifier = try makeVerifier([key.publicKey], cacheCapacity: 8)
        var tokens: [AccessToken] = []
        for _ in 0..<40 { tokens.append(try issue(issuer)) }
        for token in tokens { _ = try verifier.verify(token.value, now: t0) }
        #expect(verifier.cachedTokenCount <= 8)
        for token in tokens { #expect(try verifier.verify(token.value, now: t0) == token.claims) }  // evicted ones re-verify
        let before = verifier.cachedTokenCount
        var parts = segments(tokens[0].value)
        parts[2] = Base64URL.encode(try key.sign([1, 2, 3]))
        #expect(tokenError { try verifier.verify(parts.joined(separator: "."), now: t0) } == .badSignature)
        #expect(tokenError { try verifier.verify(tokens[0].value, now: t0 + 10_000) } == .expired)
        #expect(verifier.cachedTokenCount <= before)
    }

    @Test func concurrentVerification() async throws {
        let issuer = try makeIssuer(key)
        let tokens = try (0..<16).map { _ in try issue(issuer).value }
        let verifier = try makeVerifier([key.publicKey], cacheCapacity: 8)
        let key = key
        let failures = await withTaskGroup(of: Int.self) { group in
            for worker in 0..<4 {
                group.addTask {
                    var failures = 0
                    for round in 0..<200 {
                        if (try? verifier.verify(tokens[(round * 7 + worker) % tokens.count], now: t0)) == nil { failures += 1 }
                        if round % 50 == 0 { verifier.replaceKeys([key.keyID: key.publicKey]) }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }

    @Test func randomGarbageNeverCrashesNorVerifies() throws {
        let valid = try issue(makeIssuer(key)).value
        let verifier = try makeVerifier([key.publicKey])
        var random = SplitMix64(seed: 0x5EED_2026)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ {}\"".utf8)
        var inputs: [String] = []
        for round in 0..<3_000 {
            let length = Int.random(in: 0...(round % 10 == 0 ? 5_000 : 300), using: &random)
            switch round % 4 {
            case 0:  // raw bytes, invalid UTF-8 included
                inputs.append(String(decoding: (0..<length).map { _ in UInt8.random(in: 0...255, using: &random) }, as: UTF8.self))
            case 1:  // token-like characters
                inputs.append(String(decoding: (0..<length).map { _ in alphabet.randomElement(using: &random)! }, as: UTF8.self))
            case 2:  // a valid token, a few bytes changed
                var bytes = Array(valid.utf8)
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    bytes[Int.random(in: bytes.indices, using: &random)] = alphabet.randomElement(using: &random)!
                }
                inputs.append(String(decoding: bytes, as: UTF8.self))
            default:  // random JSON-ish header and payload, correctly signed
                func junk() -> String {
                    String(decoding: (0..<Int.random(in: 0...60, using: &random)).map { _ in
                        Array(#"{}[]:,"0123456789.eE-+truefalsnul\u"#.utf8).randomElement(using: &random)!
                    }, as: UTF8.self)
                }
                inputs.append(try craft(header: junk(), payload: junk(), key: key))
            }
        }
        inputs += [
            "", ".", "..", "...", "a.b.c", "\u{0}.\u{0}.\u{0}", valid + ".", "." + valid, valid + valid,
            String(repeating: "[", count: 3_000),
            try craft(header: String(repeating: "[", count: 2_000) + String(repeating: "]", count: 2_000), payload: "{}", key: key),
            try craft(header: standardHeader(key), payload: String(repeating: #"{"a":"#, count: 500), key: key),
        ]
        for input in inputs where input != valid {  // a mutation may put back the byte it replaced
            #expect(tokenError { try verifier.verify(input, now: t0) } != nil, "input \(inputs.firstIndex(of: input)!)")
        }
    }
}

extension AccessTokenTests {
    /// The primitive: RFC 8032 and RFC 8037 vectors, seeds, key IDs, redaction.
    @Suite struct Ed25519 {
        @Test func rfc8032Test1EmptyMessage() throws {
            let key = try signingKey(rfc8032Test1Seed)
            #expect(key.publicKey.rawRepresentation == rfc8032Test1Public)
            let signature = try key.sign([])
            #expect(signature == hex(
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"))
            #expect(key.publicKey.isValidSignature(signature, for: []))
            var flipped = signature
            flipped[0] ^= 1
            #expect(!key.publicKey.isValidSignature(flipped, for: []))
            #expect(!key.publicKey.isValidSignature(signature, for: [0]))
        }

        @Test func rfc8032Test2OneByte() throws {
            let key = try signingKey(hex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb"))
            let publicKey = try Ed25519PublicKey(rawRepresentation: hex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"))
            #expect(key.publicKey == publicKey)
            let signature = hex(
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00")
            #expect(try key.sign([0x72]) == signature)
            #expect(publicKey.isValidSignature(signature, for: [0x72]))
            #expect(!publicKey.isValidSignature(signature, for: [0x73]))
            #expect(!publicKey.isValidSignature(Array(signature.dropLast()), for: [0x72]))
        }

        /// RFC 8037 appendix A.4: the JWS signing input and signature for RFC 8032's test-1 key.
        @Test func rfc8037AppendixA4() throws {
            let key = try signingKey(rfc8032Test1Seed)
            #expect(Base64URL.encode(Array(#"{"alg":"EdDSA"}"#.utf8)) == "eyJhbGciOiJFZERTQSJ9")
            #expect(Base64URL.encode(Array("Example of Ed25519 signing".utf8)) == "RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc")
            let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
            let expected = "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
            #expect(Base64URL.encode(try key.sign(input)) == expected)
            #expect(key.publicKey.isValidSignature(Base64URL.decode(expected)!, for: input))
            // A valid JWS, but not an access token: no kid, no typ, no claims.
            let verifier = try makeVerifier([key.publicKey])
            let error = tokenError { try verifier.verify("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc." + expected, now: t0) }
            #expect(isMalformed(error))
        }

        @Test func seedRoundTripAndStableKeyID() throws {
            let key = try Ed25519SigningKey.generate()
            let again = try Ed25519SigningKey(seed: key.seed())
            #expect(again.publicKey == key.publicKey)
            #expect(again.keyID == key.keyID)
            #expect(key.keyID == hexString(try sha256(key.publicKey.rawRepresentation)).prefix(16).description)
            #expect(key.keyID.count == 16)
            #expect(try Ed25519SigningKey.generate().keyID != key.keyID)
            #expect(try Ed25519PublicKey(rawRepresentation: key.publicKey.rawRepresentation).keyID == key.keyID)
            #expect(throws: CryptoError.self) { try Ed25519PublicKey(rawRepresentation: [UInt8](repeating: 1, count: 31)) }
        }

        @Test func keysNeverPrint() throws {
            let key = try signingKey(rfc8032Test1Seed)
            let seedHex = "9d61b19deffd5a60"
            var dumped = ""
            dump(key, to: &dumped)
            for text in [String(describing: key), String(reflecting: key), dumped, "\(key.publicKey)"] {
                #expect(!text.contains(seedHex))
                #expect(!text.lowercased().contains("d75a980182b10ab7"))  // nor the raw public key
            }
            #expect(String(describing: key).contains("redacted"))
            let issued = try issue(makeIssuer(key))
            #expect(!String(describing: issued).contains(issued.value))
            #expect(!String(reflecting: issued).contains(segments(issued.value)[2]))
        }
    }

    /// base64url and JSON, the two encodings a token is made of.
    @Suite struct Encoding {
        @Test func base64URLIsStrict() {
            #expect(Base64URL.encode([]) == "" && Base64URL.decode("") == [])
            #expect(Base64URL.encode([0x41]) == "QQ" && Base64URL.decode("QQ") == [0x41])
            #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8" && Base64URL.decode("-_8") == [0xFB, 0xFF])
            for bad in ["QR", "QQ==", "Q", "QQ=", "+/8", "Q Q", "QUJD\n", "QUJDR"] {
                #expect(Base64URL.decode(bad) == nil, "\(bad)")
            }
            var random = SplitMix64(seed: 7)
            for count in 0..<64 {
                let bytes = (0..<count).map { _ in UInt8.random(in: 0...255, using: &random) }
                #expect(Base64URL.decode(Base64URL.encode(bytes)) == bytes)
            }
        }

        @Test func jsonParserIsStrict() throws {
            #expect(try JSONParser.parse(Array(#" {"a":[1,-2,"x\n\u00e9\ud83d\ude00",true,false,null]} "#.utf8))
                == .object([("a", .array([.number(1), .number(-2), .string("x\né😀"), .bool(true), .bool(false), .null]))]))
            #expect(try JSONParser.parse(Array("9223372036854775807".utf8)) == .number(Int64.max))
            #expect(try JSONParser.parse(Array("-9223372036854775808".utf8)) == .number(Int64.min))
            #expect(try JSONParser.parse(Array("9223372036854775808".utf8)) == .number(nil))
            #expect(try JSONParser.parse(Array("1.0".utf8)) == .number(nil))
            let refused = [
                "", "{", #"{"a":1,"a":2}"#, #"{"a" 1}"#, "[1,]", "01", "1.", "-", "+1", ".5", "1e", "tru", "nul", "NaN",
                #""\ud800""#, #""\udc00""#, #""\ud800\u0041""#, "\"a\u{01}\"", #""\x""#, "1 2", "{} {}", "\"\u{FEFF}\"x",
                String(repeating: "[", count: 17) + String(repeating: "]", count: 17),
            ]
            for text in refused {
                #expect(throws: JSONParseError.self, "\(text)") { try JSONParser.parse(Array(text.utf8)) }
            }
            #expect(throws: JSONParseError.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }  // invalid UTF-8
            #expect(throws: Never.self) {
                try JSONParser.parse(Array((String(repeating: "[", count: 16) + String(repeating: "]", count: 16)).utf8))
            }
        }
    }
}

private func hexString(_ bytes: [UInt8]) -> String {
    bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
}

extension String {
    fileprivate func replacingOccurrences(of target: String, with replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let range = rest.firstRange(of: target) {
            result += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return result + rest
    }
}
