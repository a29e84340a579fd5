import COpenSSL

/// HMAC-SHA256 through EVP_MAC, with a fresh context per call (cheap next to the hashing, and
/// trivially thread-safe). `package` so tests can run RFC 4231 vectors with arbitrary keys.
package func hmacSHA256(key: UnsafeRawBufferPointer, message: UnsafeRawBufferPointer) throws -> [UInt8] {
    let mac = try hmacAlgorithm.get()
    guard let ctx = EVP_MAC_CTX_new(mac) else { throw CryptoError.openssl("EVP_MAC_CTX_new") }
    defer { EVP_MAC_CTX_free(ctx) }  // wipes the keyed state
    // A zero-length key still needs a non-NULL pointer: NULL means "reuse the previous key".
    var emptyKey: UInt8 = 0
    try withUnsafeBytes(of: &emptyKey) { emptyKey in
        let keyBytes = key.count == 0 ? emptyKey.baseAddress! : key.baseAddress!
        try withOSSLParams([.utf8("digest", "SHA256")]) { params in
            try checkOpenSSL(
                EVP_MAC_init(ctx, keyBytes.assumingMemoryBound(to: UInt8.self), key.count, params), "HMAC-SHA256 init")
        }
    }
    if let bytes = message.baseAddress, message.count > 0 {
        try checkOpenSSL(EVP_MAC_update(ctx, bytes.assumingMemoryBound(to: UInt8.self), message.count), "HMAC-SHA256 update")
    }
    return try [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
        var written = 0
        try checkOpenSSL(EVP_MAC_final(ctx, buffer.baseAddress, &written, buffer.count), "HMAC-SHA256 final")
        count = written
    }
}

package func hmacSHA256(key: [UInt8], message: [UInt8]) throws -> [UInt8] {
    try key.withUnsafeBytes { key in try message.withUnsafeBytes { try hmacSHA256(key: key, message: $0) } }
}
