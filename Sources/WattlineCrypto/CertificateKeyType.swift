import COpenSSL

/// The key types the device CA accepts, for its own key and for loggers': ECDSA on P-256
/// (secp256r1, what most logger secure elements hold) and Ed25519. Nothing else, RSA included:
/// the contract (tenancy.proto, ProvisionLoggerCredential) promises exactly these two.
public enum CertificateKeyType: String, Sendable, Hashable, CaseIterable {
    case p256
    case ed25519

    /// The type of `key`, or an `.invalidInput` error naming what it is instead.
    static func of(_ key: OpaquePointer, role: String) throws(CryptoError) -> CertificateKeyType {
        if EVP_PKEY_is_a(key, "ED25519") == 1 { return .ed25519 }
        if EVP_PKEY_is_a(key, "EC") == 1 {
            var name = [CChar](repeating: 0, count: 80)
            var length = 0
            // Explicit curve parameters have no name and fail here too, even when they spell out P-256.
            guard EVP_PKEY_get_group_name(key, &name, name.count, &length) == 1 else {
                ERR_clear_error()
                throw CryptoError(.invalidInput, "\(role) is an EC key without a named curve; only P-256 and Ed25519 are accepted")
            }
            let curve = String(decoding: name.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            guard curve == "prime256v1" || curve == "P-256" else {
                throw CryptoError(.invalidInput, "\(role) is an EC key on \(curve); only P-256 and Ed25519 are accepted")
            }
            return .p256
        }
        let kind = EVP_PKEY_is_a(key, "RSA") == 1 || EVP_PKEY_is_a(key, "RSA-PSS") == 1
            ? "a \(EVP_PKEY_get_bits(key))-bit RSA key" : "an unsupported key type"
        throw CryptoError(.invalidInput, "\(role) is \(kind); only ECDSA P-256 and Ed25519 are accepted")
    }

    /// A fresh key pair from the default provider (OpenSSL's DRBG).
    func generate() throws(CryptoError) -> PKey {
        guard let ctx = EVP_PKEY_CTX_new_from_name(nil, self == .p256 ? "EC" : "ED25519", nil) else {
            throw CryptoError.openssl("EVP_PKEY_CTX_new_from_name(\(rawValue))")
        }
        defer { EVP_PKEY_CTX_free(ctx) }
        try requireOpenSSL(EVP_PKEY_keygen_init(ctx) == 1, "EVP_PKEY_keygen_init(\(rawValue))")
        if self == .p256 {
            try requireOpenSSL(EVP_PKEY_CTX_set_group_name(ctx, "P-256") == 1, "EVP_PKEY_CTX_set_group_name(P-256)")
        }
        var key: OpaquePointer?
        guard EVP_PKEY_generate(ctx, &key) == 1, let key else { throw CryptoError.openssl("EVP_PKEY_generate(\(rawValue))") }
        return PKey(key)
    }

    /// The digest for `X509_sign`: SHA-256 for ECDSA; none for Ed25519, which signs the message
    /// itself (PureEdDSA, RFC 8032; EVP_SIGNATURE-ED25519(7) requires a NULL digest).
    var signingDigest: OpaquePointer? { self == .p256 ? EVP_sha256() : nil }
}
