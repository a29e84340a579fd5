import COpenSSL

/// HKDF-SHA256 (RFC 5869, extract-then-expand) into `output`.
///
/// Runs OpenSSL's HKDF through the EVP_PKEY derive bridge, because COpenSSL's shim does not
/// include <openssl/kdf.h> (where `EVP_KDF_fetch` is declared); the bridge forwards the same
/// parameters to the same provider implementation.
package func hkdfSHA256(
    key: UnsafeRawBufferPointer, salt: UnsafeRawBufferPointer, info: UnsafeRawBufferPointer,
    into output: UnsafeMutableRawBufferPointer
) throws {
    guard key.count > 0 else { throw CryptoError(.invalidInput, "HKDF input key material is empty") }
    guard output.count > 0, output.count <= 255 * 32 else {
        throw CryptoError(.invalidInput, "HKDF-SHA256 output length must be 1...8160 bytes, got \(output.count)")
    }
    guard let ctx = EVP_PKEY_CTX_new_from_name(nil, "HKDF", nil) else {
        throw CryptoError.openssl("EVP_PKEY_CTX_new_from_name(HKDF)")
    }
    defer { EVP_PKEY_CTX_free(ctx) }
    try checkOpenSSL(EVP_PKEY_derive_init(ctx), "HKDF derive init")
    // An empty salt is left unset: RFC 5869 then uses HashLen zero bytes, as OpenSSL does.
    var params: [OSSLParam] = [.utf8("digest", "SHA256"), .octets("key", key)]
    if salt.count > 0 { params.append(.octets("salt", salt)) }
    if info.count > 0 { params.append(.octets("info", info)) }
    try withOSSLParams(params) { params in
        try checkOpenSSL(EVP_PKEY_CTX_set_params(ctx, params), "HKDF parameters")
    }
    var length = output.count
    try checkOpenSSL(
        EVP_PKEY_derive(ctx, output.baseAddress!.assumingMemoryBound(to: UInt8.self), &length), "HKDF derive")
    guard length == output.count else {
        OPENSSL_cleanse(output.baseAddress, output.count)
        throw CryptoError(.openssl, "HKDF derived \(length) bytes, expected \(output.count)")
    }
}

package func hkdfSHA256(key: [UInt8], salt: [UInt8], info: [UInt8], outputByteCount: Int) throws -> [UInt8] {
    var output = [UInt8](repeating: 0, count: outputByteCount)
    try key.withUnsafeBytes { key in
        try salt.withUnsafeBytes { salt in
            try info.withUnsafeBytes { info in
                try output.withUnsafeMutableBytes { try hkdfSHA256(key: key, salt: salt, info: info, into: $0) }
            }
        }
    }
    return output
}

extension SecretKey {
    static let derivationInfoPrefix = "wattline-derive-v1:"

    /// A subkey for one purpose, e.g. `"aead"` and `"blind-index"` from one tenant data key:
    /// HKDF-SHA256 with no salt (the input is already a uniform key) and info
    /// `"wattline-derive-v1:" + label`, so distinct labels give independent keys.
    public func derive(label: String) throws -> SecretKey {
        guard !label.isEmpty else { throw CryptoError(.invalidInput, "derivation label is empty") }
        let info = Array((Self.derivationInfoPrefix + label).utf8)
        return try SecretKey { output in
            try withUnsafeBytes { key in
                try info.withUnsafeBytes { info in
                    try hkdfSHA256(key: key, salt: UnsafeRawBufferPointer(start: nil, count: 0), info: info, into: output)
                }
            }
        }
    }
}
