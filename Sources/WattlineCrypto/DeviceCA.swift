import COpenSSL
import Glibc

/// Wattline's device CA: it signs the client certificates loggers present for mutual TLS, one per
/// credential, with the profile of `LoggerCertificateProfile` (docs/identity.md, Logger credentials).
///
/// Holds the CA certificate and key inside libcrypto, only read after `init`: signing with one
/// `EVP_PKEY` from several threads at once is allowed (openssl-threads(7)), hence `Sendable`.
public final class DeviceCA: @unchecked Sendable {
    public static let defaultCAValidity: Duration = .seconds(10 * 365 * 86_400)
    public static let maximumCAValidity: Duration = .seconds(30 * 365 * 86_400)
    /// PEM inputs beyond this are refused before parsing (a CA certificate is ~600 bytes).
    public static let maximumPEMByteCount = 65_536

    /// The CA certificate, as servers load it (`TLSConfiguration.trustedCAPath`).
    public let certificatePEM: String
    public let keyType: CertificateKeyType
    /// SHA-256 of the CA certificate's DER, lowercase hex.
    public let sha256Fingerprint: String
    /// The CA's own validity, seconds since the UNIX epoch. No certificate outlives `notAfter`.
    public let notBefore: Int64
    public let notAfter: Int64
    private let certificate: X509Certificate
    private let privateKey: PKey

    /// Loads a CA from PEM: a certificate with basicConstraints CA:TRUE and a subjectKeyIdentifier,
    /// and its unencrypted private key (PKCS#8 or traditional), ECDSA P-256 or Ed25519.
    public convenience init(certificatePEM: String, privateKeyPEM: String) throws(CryptoError) {
        let certificateBytes = Array(certificatePEM.utf8)
        var keyBytes = Array(privateKeyPEM.utf8)
        defer { OPENSSL_cleanse(&keyBytes, keyBytes.count) }
        guard certificateBytes.count <= Self.maximumPEMByteCount, keyBytes.count <= Self.maximumPEMByteCount else {
            throw CryptoError(.invalidInput, "CA certificate or key PEM is over \(Self.maximumPEMByteCount) bytes")
        }
        let certificate = try withReadBIO(certificateBytes) { bio throws(CryptoError) in
            guard let pointer = PEM_read_bio_X509(bio, nil, nil, nil) else {
                ERR_clear_error()
                throw CryptoError(.invalidInput, "CA certificate is not a PEM certificate")
            }
            return X509Certificate(pointer)
        }
        let privateKey = try withReadBIO(keyBytes) { bio throws(CryptoError) in
            guard let pointer = PEM_read_bio_PrivateKey(bio, nil, noPassphrase, nil) else {
                ERR_clear_error()
                throw CryptoError(.invalidInput, "CA private key is not an unencrypted PEM private key")
            }
            return PKey(pointer)
        }
        try self.init(certificate: certificate, privateKey: privateKey)
    }

    private init(certificate: X509Certificate, privateKey: PKey) throws(CryptoError) {
        keyType = try CertificateKeyType.of(privateKey.pointer, role: "the CA key")
        guard X509_check_private_key(certificate.pointer, privateKey.pointer) == 1 else {
            ERR_clear_error()
            throw CryptoError(.invalidInput, "CA private key does not match the CA certificate")
        }
        // 1 = basicConstraints CA:TRUE (and keyCertSign, if keyUsage is present). Also fills
        // libcrypto's extension cache now, before any concurrent use.
        guard X509_check_ca(certificate.pointer) == 1 else {
            throw CryptoError(.invalidInput, "CA certificate lacks basicConstraints CA:TRUE or keyUsage keyCertSign")
        }
        guard X509_get0_subject_key_id(certificate.pointer) != nil else {
            throw CryptoError(.invalidInput, "CA certificate has no subjectKeyIdentifier (needed for authorityKeyIdentifier)")
        }
        self.certificate = certificate
        self.privateKey = privateKey
        certificatePEM = try certificate.pem()
        sha256Fingerprint = try sha256Hex(try certificate.der())
        notBefore = try unixTime(X509_get0_notBefore(certificate.pointer), "CA notBefore")
        notAfter = try unixTime(X509_get0_notAfter(certificate.pointer), "CA notAfter")
    }

    /// A new self-signed CA: subject `O=Wattline, CN=<commonName>`, basicConstraints CA:TRUE with
    /// pathlen 0 (it signs loggers, never other CAs), keyUsage keyCertSign and cRLSign.
    public static func generate(
        commonName: String, validity: Duration = defaultCAValidity, keyType: CertificateKeyType = .p256,
        now: Int64 = UnixTime.now()
    ) throws(CryptoError) -> GeneratedDeviceCA {
        let scalars = commonName.unicodeScalars
        guard (1...64).contains(scalars.count), !scalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CryptoError(.invalidInput, "CA common name must be 1 to 64 characters without control characters")
        }
        let seconds = try wholeSeconds(validity, from: .seconds(86_400), to: maximumCAValidity, what: "CA validity")
        let key = try keyType.generate()
        let builder = CertificateBuilder(
            subject: [("O", "Wattline"), ("CN", commonName)],
            extensions: [
                (NID_basic_constraints, "critical,CA:TRUE,pathlen:0"),
                (NID_key_usage, "critical,keyCertSign,cRLSign"),
                (NID_subject_key_identifier, "hash"),
                (NID_authority_key_identifier, "keyid:always"),
            ],
            notBefore: now - LoggerCertificateProfile.backdating, notAfter: now + seconds)
        let (certificate, _) = try builder.sign(
            publicKey: key.pointer, issuer: nil, signingKey: key, signingKeyType: keyType)
        let ca = try DeviceCA(certificate: certificate, privateKey: key)
        return GeneratedDeviceCA(ca: ca, certificatePEM: ca.certificatePEM, privateKeyPEM: try key.privateKeyPEM())
    }

    // MARK: Issuing

    /// Signs a logger certificate for the public key of `csrPEM` (PKCS#10, "CERTIFICATE REQUEST").
    /// The CSR must be at most `CertificateRequest.maximumByteCount` bytes, carry an ECDSA P-256
    /// or Ed25519 key and verify under it; nothing else is taken from it. Ids are lowercase UUIDs.
    ///
    /// Throws `.invalidInput` for malformed input, an unsupported key or signature algorithm, bad
    /// ids or validity, or a validity past the CA's own `notAfter`; `.authenticationFailed` when the
    /// CSR's self-signature does not verify; `.openssl` when libcrypto fails.
    public func issue(
        csrPEM: String, loggerID: String, siteID: String, tenantID: String,
        validity: Duration = LoggerCertificateProfile.defaultValidity, now: Int64 = UnixTime.now()
    ) throws(CryptoError) -> IssuedCertificate {
        let seconds = try LoggerCertificateProfile.validate(loggerID: loggerID, siteID: siteID, tenantID: tenantID, validity: validity)
        let request = try CertificateRequest(pem: csrPEM)
        return try sign(request.publicKey, loggerID: loggerID, siteID: siteID, tenantID: tenantID, seconds: seconds, now: now)
    }

    /// As `issue(csrPEM:…)` for a DER-encoded CSR, the form `CredentialMaterial.csr_der` carries.
    public func issue(
        csrDER: [UInt8], loggerID: String, siteID: String, tenantID: String,
        validity: Duration = LoggerCertificateProfile.defaultValidity, now: Int64 = UnixTime.now()
    ) throws(CryptoError) -> IssuedCertificate {
        let seconds = try LoggerCertificateProfile.validate(loggerID: loggerID, siteID: siteID, tenantID: tenantID, validity: validity)
        let request = try CertificateRequest(der: csrDER)
        return try sign(request.publicKey, loggerID: loggerID, siteID: siteID, tenantID: tenantID, seconds: seconds, now: now)
    }

    /// Development: generates the logger's key pair here and returns its private key with the
    /// certificate. Production loggers make their key themselves and send a CSR.
    public func issueWithNewKey(
        loggerID: String, siteID: String, tenantID: String, keyType: CertificateKeyType = .p256,
        validity: Duration = LoggerCertificateProfile.defaultValidity, now: Int64 = UnixTime.now()
    ) throws(CryptoError) -> IssuedCertificateAndKey {
        let seconds = try LoggerCertificateProfile.validate(loggerID: loggerID, siteID: siteID, tenantID: tenantID, validity: validity)
        let key = try keyType.generate()
        let certificate = try sign(key, loggerID: loggerID, siteID: siteID, tenantID: tenantID, seconds: seconds, now: now)
        return IssuedCertificateAndKey(certificate: certificate, privateKeyPEM: try key.privateKeyPEM())
    }

    private func sign(
        _ publicKey: PKey, loggerID: String, siteID: String, tenantID: String, seconds: Int64, now: Int64
    ) throws(CryptoError) -> IssuedCertificate {
        let notBefore = now - LoggerCertificateProfile.backdating
        let notAfter = now + seconds
        // A certificate outliving its CA would stop verifying when the CA expires; say so now.
        guard notAfter <= self.notAfter else {
            throw CryptoError(.invalidInput, "the device CA expires at \(self.notAfter), before the requested notAfter \(notAfter): rotate the CA or shorten the validity")
        }
        guard now >= self.notBefore else {
            throw CryptoError(.invalidInput, "the device CA is not valid before \(self.notBefore)")
        }
        let builder = LoggerCertificateProfile.builder(
            loggerID: loggerID, siteID: siteID, tenantID: tenantID, notBefore: notBefore, notAfter: notAfter)
        let (leaf, serialHex) = try builder.sign(
            publicKey: publicKey.pointer, issuer: certificate, signingKey: privateKey, signingKeyType: keyType)
        let der = try leaf.der()
        return IssuedCertificate(
            certificatePEM: try leaf.pem(), certificateDER: der, serialHex: serialHex,
            sha256Fingerprint: try sha256Hex(der), notBefore: notBefore, notAfter: notAfter)
    }
}

extension DeviceCA: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "DeviceCA(\(keyType.rawValue), sha256: \(sha256Fingerprint), key redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror {
        Mirror(self, children: ["keyType": keyType, "sha256Fingerprint": sha256Fingerprint], displayStyle: .class)
    }
}

/// SHA-256 of `bytes`, lowercase hex (the fingerprint format of `TLSPeerInfo`).
func sha256Hex(_ bytes: [UInt8]) throws(CryptoError) -> String {
    do {
        return hexDigits(try sha256(bytes))
    } catch {
        throw error as? CryptoError ?? CryptoError(.openssl, "SHA-256 failed")
    }
}

/// An X.509 time as seconds since the UNIX epoch.
private func unixTime(_ time: UnsafePointer<ASN1_TIME>?, _ what: String) throws(CryptoError) -> Int64 {
    var parts = tm()
    guard let time, ASN1_TIME_to_tm(time, &parts) == 1 else { throw CryptoError.openssl("\(what): ASN1_TIME_to_tm") }
    return Int64(timegm(&parts))
}
