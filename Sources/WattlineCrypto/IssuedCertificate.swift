/// A certificate the device CA signed, with what the IMS stores about it.
public struct IssuedCertificate: Sendable, Hashable {
    public let certificatePEM: String
    /// What `CertificateChain.certificates_der` carries (the chain is this leaf alone: the device
    /// CA is the root the server trusts).
    public let certificateDER: [UInt8]
    /// 32 lowercase hex digits (128 bits, top byte never zero).
    public let serialHex: String
    /// SHA-256 of `certificateDER`, 64 lowercase hex digits: the same string the server sees as
    /// `TLSPeerInfo.peerCertificateSHA256` when the logger connects, and the key of its credential.
    public let sha256Fingerprint: String
    /// Seconds since the UNIX epoch, as written into the certificate.
    public let notBefore: Int64
    public let notAfter: Int64
}

/// A logger certificate with the private key generated for it (development only: in production
/// the key is made on the logger and never leaves it).
public struct IssuedCertificateAndKey: Sendable {
    public let certificate: IssuedCertificate
    /// PKCS#8 PEM, unencrypted. A `String` cannot be wiped: hand it on and drop it.
    public let privateKeyPEM: String
}

/// A fresh device CA and the PEMs to store: the certificate as it is, the key wrapped by the
/// caller (e.g. sealed with `AEAD` under a key from the keyring) before it touches disk or database.
public struct GeneratedDeviceCA: Sendable {
    public let ca: DeviceCA
    public let certificatePEM: String
    /// PKCS#8 PEM, unencrypted. A `String` cannot be wiped: wrap it and drop it.
    public let privateKeyPEM: String
}

extension IssuedCertificateAndKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "IssuedCertificateAndKey(sha256: \(certificate.sha256Fingerprint), key redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["certificate": certificate], displayStyle: .struct) }
}

extension GeneratedDeviceCA: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "GeneratedDeviceCA(\(ca), key redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["ca": ca], displayStyle: .struct) }
}
