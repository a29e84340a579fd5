import Glibc

/// A signed access token as issued: the compact JWS (RFC 7515) and the claims in it.
///
/// Format: `base64url(header) "." base64url(claims) "." base64url(Ed25519 signature)`, header
/// `{"alg":"EdDSA","kid":"<key id>","typ":"at+jwt"}` (RFC 8037, RFC 9068 §2.1), claims as JSON
/// with sorted keys and no whitespace. `value` is a bearer secret: it never appears in
/// descriptions, and the server keeps at most its SHA-256.
public struct AccessToken: Sendable {
    /// JWS `alg` for Ed25519 (RFC 8037 §3.1).
    public static let algorithm = "EdDSA"
    /// JWS `typ` of access tokens (RFC 9068 §2.1), which keeps an ID token or another JWT signed
    /// by the same key from passing as one.
    public static let type = "at+jwt"
    /// Longest token accepted or issued, in bytes; checked before anything is decoded.
    public static let maximumByteCount = 4096
    /// Longest lifetime (`exp - iat`) an issuer may give and a verifier accepts.
    public static let maximumLifetime: Duration = .seconds(15 * 60)

    public let value: String
    public let claims: AccessTokenClaims

    /// `exp` in milliseconds, as the IMS responses carry it (`access_token_expires_at_ms`).
    public var expiresAtMilliseconds: Int64 { claims.expiresAt * 1000 }
}

extension AccessToken: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "AccessToken(jti: \(claims.tokenID), exp: \(claims.expiresAt), redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["claims": claims], displayStyle: .struct) }
}

/// The claims of an access token (RFC 9068 §2.2, RFC 7519 §4). Times are JWT NumericDates:
/// whole seconds since the UNIX epoch.
public struct AccessTokenClaims: Sendable, Hashable {
    /// `iss`: the identity service that issued the token.
    public var issuer: String
    /// `sub`: the identity (a person) or the integration credential, as a lowercase UUID string.
    public var subject: String
    /// `aud`: the one audience the token is for.
    public var audience: String
    /// `exp`
    public var expiresAt: Int64
    /// `iat`
    public var issuedAt: Int64
    /// `nbf`, if the token must not be used before a time later than `iat`.
    public var notBefore: Int64?
    /// `jti`: 128 random bits, base64url.
    public var tokenID: String
    /// `sid`: the session (for a person) or credential (for an integration) whose revocation
    /// ends the token; lowercase UUID string. Revocation is checked by the caller, not here.
    public var sessionID: String
    /// `tid`: the tenant the token acts in, if it is scoped to one; lowercase UUID string.
    public var tenantID: String?
    /// `roles`, e.g. `tenant:<uuid>:admin`, `site:<tenant uuid>:<site uuid>:responsible`, `platform:operator`.
    public var roles: [String]
    /// `scope`: space-separated OAuth scopes, if any.
    public var scope: String?

    public init(
        issuer: String, subject: String, audience: String, expiresAt: Int64, issuedAt: Int64, notBefore: Int64? = nil,
        tokenID: String, sessionID: String, tenantID: String? = nil, roles: [String], scope: String? = nil
    ) {
        self.issuer = issuer
        self.subject = subject
        self.audience = audience
        self.expiresAt = expiresAt
        self.issuedAt = issuedAt
        self.notBefore = notBefore
        self.tokenID = tokenID
        self.sessionID = sessionID
        self.tenantID = tenantID
        self.roles = roles
        self.scope = scope
    }
}

/// Why a token was refused. No case carries the token or any text taken from it, so errors are
/// safe to log; `malformed` reasons are fixed phrases.
public enum TokenError: Error, Sendable, Hashable, CustomStringConvertible {
    case expired
    case notYetValid
    case badSignature
    case unknownKeyID
    case wrongAudience
    case wrongIssuer
    case malformed(reason: String)

    public var description: String {
        switch self {
        case .expired: "TokenError: expired"
        case .notYetValid: "TokenError: not yet valid"
        case .badSignature: "TokenError: bad signature"
        case .unknownKeyID: "TokenError: unknown key ID"
        case .wrongAudience: "TokenError: wrong audience"
        case .wrongIssuer: "TokenError: wrong issuer"
        case let .malformed(reason): "TokenError: malformed (\(reason))"
        }
    }
}

/// The wall clock in JWT units.
public enum UnixTime {
    /// Whole seconds since the UNIX epoch (CLOCK_REALTIME).
    public static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        return Int64(time.tv_sec)
    }
}

// MARK: Claims as JSON

extension AccessTokenClaims {
    /// Times beyond year 9999 are refused, so `exp + leeway` can never overflow.
    static let latestTime: Int64 = 253_402_300_799

    /// Canonical JSON: members in byte order of their names, optional claims omitted when nil.
    func encoded() -> [UInt8] {
        var writer = JSONObjectWriter(capacity: 256 + roles.reduce(0) { $0 + $1.utf8.count + 3 })
        writer.add("aud", audience)
        writer.add("exp", expiresAt)
        writer.add("iat", issuedAt)
        writer.add("iss", issuer)
        writer.add("jti", tokenID)
        if let notBefore { writer.add("nbf", notBefore) }
        writer.add("roles", roles)
        if let scope { writer.add("scope", scope) }
        writer.add("sid", sessionID)
        writer.add("sub", subject)
        if let tenantID { writer.add("tid", tenantID) }
        return writer.finish()
    }

    /// Reads the claims from a parsed payload. Claims this version does not know are ignored
    /// (they are signed, so only an issuer can have put them there); known ones must have their
    /// exact type, and `null` is never accepted for them.
    init(json: JSONValue) throws(TokenError) {
        guard case let .object(members) = json else { throw .malformed(reason: "claims are not a JSON object") }
        var issuer: String?, subject: String?, audience: String?, tokenID: String?, sessionID: String?
        var tenantID: String?, scope: String?, roles: [String]?
        var expiresAt: Int64?, issuedAt: Int64?, notBefore: Int64?

        func text(_ value: JSONValue, _ claim: StaticString) throws(TokenError) -> String {
            guard case let .string(string) = value else { throw .malformed(reason: "claim '\(claim)' is not a string") }
            return string
        }
        func time(_ value: JSONValue, _ claim: StaticString) throws(TokenError) -> Int64 {
            guard case let .number(number?) = value, (0...Self.latestTime).contains(number) else {
                throw .malformed(reason: "claim '\(claim)' is not a whole number of seconds in range")
            }
            return number
        }
        for (name, value) in members {
            switch name {
            case "iss": issuer = try text(value, "iss")
            case "sub": subject = try text(value, "sub")
            case "aud": audience = try text(value, "aud")
            case "jti": tokenID = try text(value, "jti")
            case "sid": sessionID = try text(value, "sid")
            case "tid": tenantID = try text(value, "tid")
            case "scope": scope = try text(value, "scope")
            case "exp": expiresAt = try time(value, "exp")
            case "iat": issuedAt = try time(value, "iat")
            case "nbf": notBefore = try time(value, "nbf")
            case "roles":
                guard case let .array(elements) = value else { throw .malformed(reason: "claim 'roles' is not an array") }
                var list: [String] = []
                list.reserveCapacity(elements.count)
                for element in elements {
                    guard case let .string(role) = element else { throw .malformed(reason: "claim 'roles' has a non-string element") }
                    list.append(role)
                }
                roles = list
            default:
                continue
            }
        }
        guard let issuer, let subject, let audience, let expiresAt, let issuedAt, let tokenID, let sessionID, let roles else {
            throw .malformed(reason: "a required claim (iss, sub, aud, exp, iat, jti, sid, roles) is missing")
        }
        self.init(
            issuer: issuer, subject: subject, audience: audience, expiresAt: expiresAt, issuedAt: issuedAt,
            notBefore: notBefore, tokenID: tokenID, sessionID: sessionID, tenantID: tenantID, roles: roles, scope: scope)
        if let problem = problem(maximumLifetime: AccessToken.maximumLifetime.components.seconds) {
            throw .malformed(reason: problem)
        }
    }

    /// The first rule these claims break, or nil. Shared by issuer and verifier, so nothing is
    /// issued that would not verify. Values are never quoted: the reasons name claims only.
    func problem(maximumLifetime: Int64) -> String? {
        guard isToken(issuer, maximumCount: 256) else { return "claim 'iss' must be 1 to 256 printable ASCII characters" }
        guard isToken(audience, maximumCount: 256) else { return "claim 'aud' must be 1 to 256 printable ASCII characters" }
        guard isCanonicalUUID(subject) else { return "claim 'sub' must be a lowercase UUID" }
        guard isCanonicalUUID(sessionID) else { return "claim 'sid' must be a lowercase UUID" }
        if let tenantID, !isCanonicalUUID(tenantID) { return "claim 'tid' must be a lowercase UUID" }
        guard isToken(tokenID, maximumCount: 64) else { return "claim 'jti' must be 1 to 64 printable ASCII characters" }
        guard roles.count <= 256, roles.allSatisfy(isRole) else {
            return "claim 'roles' must hold at most 256 roles of 1 to 128 characters from [A-Za-z0-9:._-]"
        }
        if let scope, !isScope(scope) { return "claim 'scope' must be space-separated printable ASCII scopes" }
        for time in [expiresAt, issuedAt, notBefore ?? 0] where !(0...Self.latestTime).contains(time) {
            return "times must be whole seconds between 1970 and 9999"
        }
        guard expiresAt > issuedAt else { return "claim 'exp' must be after 'iat'" }
        guard expiresAt - issuedAt <= maximumLifetime else { return "lifetime (exp - iat) exceeds the maximum" }
        if let notBefore, notBefore >= expiresAt { return "claim 'nbf' must be before 'exp'" }
        return nil
    }
}

// MARK: Character rules

/// 8-4-4-4-12 lowercase hex digits: the one spelling, so equal ids compare equal as strings.
func isCanonicalUUID(_ string: String) -> Bool {
    var count = 0
    for (index, byte) in string.utf8.enumerated() {
        count += 1
        switch index {
        case 8, 13, 18, 23: guard byte == UInt8(ascii: "-") else { return false }
        default: guard isLowercaseHexDigit(byte) else { return false }
        }
    }
    return count == 36
}

func isLowercaseHexDigit(_ byte: UInt8) -> Bool {
    (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
}

/// Printable ASCII without space (0x21–0x7E): no control characters to smuggle into logs or
/// into protobuf-c strings, which end at U+0000.
func isToken(_ string: String, maximumCount: Int) -> Bool {
    let utf8 = string.utf8
    return (1...maximumCount).contains(utf8.count) && utf8.allSatisfy { (0x21...0x7E).contains($0) }
}

func isRole(_ role: String) -> Bool {
    let utf8 = role.utf8
    return (1...128).contains(utf8.count)
        && utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: ":"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
                true
            default: false
            }
        }
}

/// RFC 6749 §3.3: scope tokens of %x21 / %x23-5B / %x5D-7E separated by single spaces.
func isScope(_ scope: String) -> Bool {
    let utf8 = Array(scope.utf8)
    guard (1...1024).contains(utf8.count), utf8.first != 0x20, utf8.last != 0x20 else { return false }
    var previousWasSpace = false
    for byte in utf8 {
        if byte == 0x20 {
            if previousWasSpace { return false }
            previousWasSpace = true
            continue
        }
        previousWasSpace = false
        guard (0x21...0x7E).contains(byte), byte != 0x22, byte != 0x5C else { return false }
    }
    return true
}
