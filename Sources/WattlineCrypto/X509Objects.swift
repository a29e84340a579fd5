import COpenSSL

// Owners and byte conversions for the libcrypto objects behind the device CA. Each owner frees its
// pointer exactly once, so no path (throw or return) can leak or double-free it.

/// Owns one `X509`.
final class X509Certificate: @unchecked Sendable {
    // @unchecked: only read after construction; libcrypto caches extensions under the object's own lock.
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { X509_free(pointer) }

    /// The DER encoding (`i2d_X509`).
    func der() throws(CryptoError) -> [UInt8] {
        let length = i2d_X509(pointer, nil)
        guard length > 0 else { throw CryptoError.openssl("i2d_X509") }
        var output = [UInt8](repeating: 0, count: Int(length))
        let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
            var cursor = buffer.baseAddress
            return i2d_X509(pointer, &cursor)
        }
        guard written == length else { throw CryptoError.openssl("i2d_X509") }
        return output
    }

    func pem() throws(CryptoError) -> String {
        try writePEM("PEM_write_bio_X509", secret: false) { PEM_write_bio_X509($0, pointer) }
    }
}

/// Owns one `EVP_PKEY` (public, or private: the provider wipes a private key when it is freed).
final class PKey: @unchecked Sendable {
    // @unchecked: read-only use of a key from several threads is allowed (openssl-threads(7)).
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }

    /// PKCS#8, unencrypted ("PRIVATE KEY"), through a secure-heap BIO that is wiped when freed.
    func privateKeyPEM() throws(CryptoError) -> String {
        try writePEM("PEM_write_bio_PKCS8PrivateKey", secret: true) {
            PEM_write_bio_PKCS8PrivateKey($0, pointer, nil, nil, 0, nil, nil)
        }
    }
}

/// Throws `.openssl` for `operation` unless `ok`.
@inline(__always)
func requireOpenSSL(_ ok: Bool, _ operation: @autoclosure () -> String) throws(CryptoError) {
    guard ok else { throw CryptoError.openssl(operation()) }
}

/// Runs `body` with a read-only memory BIO over `bytes` (`BIO_new_mem_buf` does not copy).
func withReadBIO<R>(_ bytes: [UInt8], _ body: (OpaquePointer) throws(CryptoError) -> R) throws(CryptoError) -> R {
    try bytes.withUnsafeBufferPointer { buffer throws(CryptoError) -> R in
        var empty: UInt8 = 0  // an empty buffer still needs a valid pointer
        let bio = withUnsafeMutablePointer(to: &empty) { empty in
            BIO_new_mem_buf(buffer.baseAddress.map(UnsafeRawPointer.init) ?? UnsafeRawPointer(empty), Int32(buffer.count))
        }
        guard let bio else { throw CryptoError.openssl("BIO_new_mem_buf") }
        defer { BIO_free(bio) }
        return try body(bio)
    }
}

/// Whatever `write` puts into a fresh memory BIO, as a string. For secrets the BIO lives on the
/// secure heap (cleared when freed) and the intermediate byte copy is wiped; the returned `String`
/// cannot be.
private func writePEM(_ operation: String, secret: Bool, _ write: (OpaquePointer) -> Int32) throws(CryptoError) -> String {
    guard let bio = BIO_new(secret ? BIO_s_secmem() : BIO_s_mem()) else { throw CryptoError.openssl("BIO_new") }
    defer { BIO_free(bio) }
    try requireOpenSSL(write(bio) == 1, operation)
    let pending = Int(BIO_ctrl_pending(bio))
    var bytes = [UInt8](repeating: 0, count: pending)
    var read = 0
    try requireOpenSSL(pending > 0 && BIO_read_ex(bio, &bytes, pending, &read) == 1 && read == pending, "BIO_read_ex")
    defer { if secret { OPENSSL_cleanse(&bytes, bytes.count) } }
    return String(decoding: bytes, as: UTF8.self)
}

/// Refuses every passphrase prompt: an encrypted PEM key fails to load instead of reading the terminal.
func noPassphrase(_ buffer: UnsafeMutablePointer<CChar>?, _ size: Int32, _ writing: Int32, _ user: UnsafeMutableRawPointer?) -> Int32 {
    0
}
