import COpenSSL

/// What a logger's client certificate says (docs/identity.md, Logger credentials). The subject
/// and every extension come from here, never from the CSR.
public enum LoggerCertificateProfile {
    public static let organization = "Wattline device"
    public static let defaultValidity: Duration = .seconds(397 * 86_400)
    public static let maximumValidity: Duration = .seconds(825 * 86_400)
    /// notBefore lies this far in the past, so a logger whose clock runs a little behind can use
    /// a certificate issued a moment ago.
    public static let backdating: Int64 = 5 * 60

    public static func commonName(loggerID: String) -> String { "logger-\(loggerID)" }
    public static func loggerURI(_ loggerID: String) -> String { "urn:wattline:logger:\(loggerID)" }
    public static func siteURI(_ siteID: String) -> String { "urn:wattline:site:\(siteID)" }
    public static func tenantURI(_ tenantID: String) -> String { "urn:wattline:tenant:\(tenantID)" }

    /// The builder for one logger. The ids must already be canonical UUIDs: they are spliced into
    /// OpenSSL's extension syntax, where anything else could smuggle in extra names.
    static func builder(loggerID: String, siteID: String, tenantID: String, notBefore: Int64, notAfter: Int64)
        -> CertificateBuilder
    {
        CertificateBuilder(
            subject: [("O", organization), ("CN", commonName(loggerID: loggerID))],
            extensions: [
                (NID_basic_constraints, "critical,CA:FALSE"),
                (NID_key_usage, "critical,digitalSignature"),
                (NID_ext_key_usage, "clientAuth"),
                (NID_subject_alt_name, "URI:\(loggerURI(loggerID)),URI:\(siteURI(siteID)),URI:\(tenantURI(tenantID))"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ],
            notBefore: notBefore, notAfter: notAfter)
    }

    /// Checks the ids and the validity; returns the validity in whole seconds.
    static func validate(loggerID: String, siteID: String, tenantID: String, validity: Duration) throws(CryptoError) -> Int64 {
        for (name, id) in [("logger", loggerID), ("site", siteID), ("tenant", tenantID)] where !isCanonicalUUID(id) {
            throw CryptoError(.invalidInput, "\(name) id must be a lowercase UUID (8-4-4-4-12 hex digits)")
        }
        return try wholeSeconds(validity, from: .seconds(1), to: maximumValidity, what: "logger certificate validity")
    }
}

/// `duration` in whole seconds within `from...to`, or `.invalidInput`.
func wholeSeconds(_ duration: Duration, from minimum: Duration, to maximum: Duration, what: String) throws(CryptoError) -> Int64 {
    guard duration >= minimum, duration <= maximum, duration.components.attoseconds == 0 else {
        throw CryptoError(.invalidInput, "\(what) must be whole seconds from \(minimum) to \(maximum), got \(duration)")
    }
    return duration.components.seconds
}
