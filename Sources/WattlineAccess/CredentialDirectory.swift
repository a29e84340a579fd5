/// What the access interceptor must ask about credentials: the state a token or certificate
/// cannot carry. Implementations cache; the answers are on every authenticated call's path.
public protocol CredentialDirectory: Sendable {
    /// The logger a verified client certificate (SHA-256 of its DER, lowercase hex) was issued
    /// to; nil when unknown, revoked, expired or decommissioned.
    func logger(certificateSHA256: String) async throws -> LoggerIdentity?
    /// The logger an API secret (SHA-256 of its UTF-8 text) was issued to; nil when unknown,
    /// revoked, expired or decommissioned.
    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity?
    /// Whether the session an access token belongs to (`sid`: a person's session, or an
    /// integration credential) has ended (logout, password change, revocation), so that its
    /// access tokens stop working before they expire.
    func isSessionRevoked(_ sessionID: String) async throws -> Bool
}

/// A logger as its credential identifies it: exactly one logger, site and tenant.
public struct LoggerIdentity: Sendable, Hashable {
    public var loggerID: String
    public var siteID: String
    public var tenantID: String
    /// The credential it authenticated with (rotation by the logger itself names it).
    public var credentialID: String

    public init(loggerID: String, siteID: String, tenantID: String, credentialID: String) {
        self.loggerID = loggerID
        self.siteID = siteID
        self.tenantID = tenantID
        self.credentialID = credentialID
    }
}

/// Logger API secrets: "wlls_" and 43 base64url characters (256 random bits). The prefix tells
/// the access interceptor it is not an access token; the server keeps only its SHA-256.
public enum LoggerSecret {
    public static let prefix = "wlls_"
}
