import COpenSSL

/// A PKCS#10 certificate signing request reduced to the one thing the device CA takes from it:
/// a public key whose holder proved possession by signing the request. Subject, attributes and
/// requested extensions are never read; the CA decides them all.
struct CertificateRequest {
    /// PEM or DER. A P-256 CSR is ~250 bytes of DER; the bound keeps libcrypto's parser away from
    /// anything large a caller might pass on.
    static let maximumByteCount = 16_384

    let publicKey: PKey
    let keyType: CertificateKeyType

    init(pem: String) throws(CryptoError) {
        let bytes = Array(pem.utf8)
        try Self.checkSize(bytes.count)
        let request = try withReadBIO(bytes) { bio throws(CryptoError) -> OpaquePointer in
            guard let request = PEM_read_bio_X509_REQ(bio, nil, nil, nil) else {
                ERR_clear_error()
                throw CryptoError(.invalidInput, "CSR is not a PEM certificate request (BEGIN CERTIFICATE REQUEST)")
            }
            // PEM_read skips text before the block; text after it would be a second, ignored request.
            let rest = Int(BIO_ctrl_pending(bio))
            var trailing = [UInt8](repeating: 0, count: rest)
            var read = 0
            if rest > 0 { _ = BIO_read_ex(bio, &trailing, rest, &read) }
            guard trailing.prefix(read).allSatisfy({ [0x20, 0x09, 0x0A, 0x0D].contains($0) }) else {
                X509_REQ_free(request)
                throw CryptoError(.invalidInput, "CSR PEM has data after the END line")
            }
            return request
        }
        defer { X509_REQ_free(request) }
        (publicKey, keyType) = try Self.verifiedKey(of: request)
    }

    init(der: [UInt8]) throws(CryptoError) {
        try Self.checkSize(der.count)
        guard !der.isEmpty else { throw CryptoError(.invalidInput, "CSR is empty") }
        let request = der.withUnsafeBufferPointer { buffer -> OpaquePointer? in
            var cursor = buffer.baseAddress
            guard let request = d2i_X509_REQ(nil, &cursor, buffer.count) else { return nil }
            guard cursor == buffer.baseAddress! + buffer.count else {  // trailing bytes after the SEQUENCE
                X509_REQ_free(request)
                return nil
            }
            return request
        }
        guard let request else {
            ERR_clear_error()
            throw CryptoError(.invalidInput, "CSR is not one DER-encoded PKCS#10 request")
        }
        defer { X509_REQ_free(request) }
        (publicKey, keyType) = try Self.verifiedKey(of: request)
    }

    private static func checkSize(_ count: Int) throws(CryptoError) {
        guard count <= maximumByteCount else {
            throw CryptoError(.invalidInput, "CSR is \(count) bytes; at most \(maximumByteCount) are accepted")
        }
    }

    /// Key policy first (no signature check runs on a key we would refuse anyway), then the
    /// signature algorithm, then the self-signature itself.
    private static func verifiedKey(of request: OpaquePointer) throws(CryptoError) -> (PKey, CertificateKeyType) {
        guard X509_REQ_get_version(request) == Int(X509_REQ_VERSION_1) else {
            throw CryptoError(.invalidInput, "CSR version is not v1")
        }
        guard let key = X509_REQ_get_pubkey(request) else {  // +1 reference, owned below
            ERR_clear_error()
            throw CryptoError(.invalidInput, "CSR public key cannot be decoded")
        }
        let publicKey = PKey(key)
        let keyType = try CertificateKeyType.of(key, role: "the CSR's public key")
        // ECDSA over SHA-2 or Ed25519: X509_REQ_verify would otherwise also accept ecdsa-with-SHA1.
        let algorithm = X509_REQ_get_signature_nid(request)
        let accepted = keyType == .ed25519
            ? [NID_ED25519] : [NID_ecdsa_with_SHA256, NID_ecdsa_with_SHA384, NID_ecdsa_with_SHA512]
        guard accepted.contains(algorithm) else {
            let name = OBJ_nid2sn(algorithm).map { String(cString: $0) } ?? "unknown"
            throw CryptoError(.invalidInput, "CSR signature algorithm \(name) is not accepted for a \(keyType.rawValue) key")
        }
        // 1: valid; 0: wrong signature; -1: could not be checked (malformed signature encoding).
        guard X509_REQ_verify(request, key) == 1 else {
            ERR_clear_error()
            throw CryptoError(.authenticationFailed, "CSR self-signature does not verify with its public key")
        }
        return (publicKey, keyType)
    }
}
