import COpenSSL

/// Everything a certificate says besides its key, decided by the CA. Builds and signs one `X509`.
struct CertificateBuilder {
    /// Relative distinguished names in DER order (most general first), e.g. `[("O", …), ("CN", …)]`.
    var subject: [(field: String, value: String)]
    /// Extensions in OpenSSL's configuration syntax (x509v3_config(5)). Only constants and values
    /// the caller has validated (UUIDs, names without separators) may go in here: a ',' or '@'
    /// from outside would add to or redirect the extension.
    var extensions: [(nid: Int32, value: String)]
    var notBefore: Int64
    var notAfter: Int64

    /// Signs a v3 certificate for `publicKey`. `issuer` nil means self-signed with `signingKey`.
    func sign(
        publicKey: OpaquePointer, issuer: X509Certificate?, signingKey: PKey, signingKeyType: CertificateKeyType
    ) throws(CryptoError) -> (certificate: X509Certificate, serialHex: String) {
        guard let pointer = X509_new() else { throw CryptoError.openssl("X509_new") }
        let certificate = X509Certificate(pointer)  // owned from here on every path
        try requireOpenSSL(X509_set_version(pointer, Int(X509_VERSION_3)) == 1, "X509_set_version")
        let serial = try Self.randomSerial()
        try Self.setSerial(serial, on: pointer)
        try requireOpenSSL(
            ASN1_TIME_set(X509_getm_notBefore(pointer), time_t(notBefore)) != nil
                && ASN1_TIME_set(X509_getm_notAfter(pointer), time_t(notAfter)) != nil,
            "ASN1_TIME_set")

        guard let name = X509_NAME_new() else { throw CryptoError.openssl("X509_NAME_new") }
        defer { X509_NAME_free(name) }
        for (field, value) in subject {
            try requireOpenSSL(
                X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8, value, -1, -1, 0) == 1, "subject \(field)")
        }
        try requireOpenSSL(X509_set_subject_name(pointer, name) == 1, "X509_set_subject_name")
        let issuerName = issuer.map { X509_get_subject_name($0.pointer) } ?? name
        try requireOpenSSL(X509_set_issuer_name(pointer, issuerName) == 1, "X509_set_issuer_name")
        try requireOpenSSL(X509_set_pubkey(pointer, publicKey) == 1, "X509_set_pubkey")  // takes its own reference

        // The context gives subjectKeyIdentifier=hash the new key and authorityKeyIdentifier the
        // issuer's subjectKeyIdentifier (the new certificate's own one when self-signed).
        var context = X509V3_CTX()
        X509V3_set_ctx(&context, issuer?.pointer ?? pointer, pointer, nil, nil, 0)
        for (nid, value) in extensions {
            guard let extensionPointer = X509V3_EXT_conf_nid(nil, &context, nid, value) else {
                throw CryptoError.openssl("extension \(OBJ_nid2sn(nid).map { String(cString: $0) } ?? "\(nid)")")
            }
            defer { X509_EXTENSION_free(extensionPointer) }
            try requireOpenSSL(X509_add_ext(pointer, extensionPointer, -1) == 1, "X509_add_ext")
        }

        // X509_sign returns the signature's length, 0 on failure.
        try requireOpenSSL(X509_sign(pointer, signingKey.pointer, signingKeyType.signingDigest) > 0, "X509_sign")
        return (certificate, hexDigits(serial))
    }

    /// 128 random bits from the CSPRNG, drawn again while the top byte is zero, so the serial is a
    /// positive integer of exactly 16 bytes (17 in DER when its top bit is set; RFC 5280 allows 20)
    /// and its hex is always 32 digits, as `openssl x509 -serial` prints it.
    static func randomSerial() throws(CryptoError) -> [UInt8] {
        var serial = [UInt8](repeating: 0, count: 16)
        repeat {
            try requireOpenSSL(RAND_bytes(&serial, Int32(serial.count)) == 1, "RAND_bytes")
        } while serial[0] == 0
        return serial
    }

    private static func setSerial(_ serial: [UInt8], on certificate: OpaquePointer) throws(CryptoError) {
        guard let number = BN_bin2bn(serial, Int32(serial.count), nil) else { throw CryptoError.openssl("BN_bin2bn") }
        defer { BN_free(number) }
        guard let integer = BN_to_ASN1_INTEGER(number, nil) else { throw CryptoError.openssl("BN_to_ASN1_INTEGER") }
        defer { ASN1_INTEGER_free(integer) }
        try requireOpenSSL(X509_set_serialNumber(certificate, integer) == 1, "X509_set_serialNumber")  // copies
    }
}
