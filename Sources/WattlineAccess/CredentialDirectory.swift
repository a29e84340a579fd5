/// What the access interceptor must ask the identity service: the state a token or certificate
/// cannot carry. Implementations cache; both answers are on every authenticated call's path.
public protocol CredentialDirectory: Sendable {
    /// The logger a verified client certificate (SHA-256 of its DER, lowercase hex) was issued
    /// to; nil when unknown or revoked.
    func logger(certificateSHA256: String) async throws -> LoggerIdentity?
    /// Whether the session an access token belongs to was ended (logout, password change), so
    /// that its access tokens stop working before they expire.
    func isSessionRevoked(_ sessionID: String) async throws -> Bool
}

/// A logger as its certificate identifies it: exactly one logger, site and tenant.
public struct LoggerIdentity: Sendable, Hashable {
    public var loggerID: String
    public var siteID: String
    public var tenantID: String

    public init(loggerID: String, siteID: String, tenantID: String) {
        self.loggerID = loggerID
        self.siteID = siteID
        self.tenantID = tenantID
    }
}
