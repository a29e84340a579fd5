import COpenSSL

// Ed25519 (RFC 8032, the pure instance) through libcrypto's EVP API: one-shot
// `EVP_DigestSign`/`EVP_DigestVerify` with a NULL digest, as EVP_SIGNATURE-ED25519(7) requires.
//
// Each key holds one `EVP_PKEY`, built once and only read afterwards; libcrypto allows read-only
// use of a key from several threads at once (openssl-threads(7)), and every sign or verify gets
// its own `EVP_MD_CTX` (its init costs ~3 µs next to ~40 µs to sign and ~110 µs to verify), so both
// key types are `Sendable`.

/// Owns one `EVP_PKEY` and frees it exactly once.
private final class EVPKey: @unchecked Sendable {
    let pointer: OpaquePointer

    init(_ pointer: OpaquePointer) { self.pointer = pointer }

    deinit { EVP_PKEY_free(pointer) }  // the provider wipes a private key when it frees it
}

/// An Ed25519 public key: 32 raw bytes (RFC 8032 §5.1.5). Equal keys have equal bytes.
public struct Ed25519PublicKey: Sendable, Hashable {
    public static let byteCount = 32
    public static let signatureByteCount = 64

    public let rawRepresentation: [UInt8]
    /// A stable key ID: the first 16 hex digits (64 bits) of SHA-256 over the raw key, so every
    /// node derives the same `kid` for the same key without coordination.
    public let keyID: String
    private let key: EVPKey

    /// Any 32 bytes are accepted here; a point that does not decode simply never verifies.
    public init(rawRepresentation bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw CryptoError(.invalidInput, "an Ed25519 public key must be \(Self.byteCount) bytes, got \(bytes.count)")
        }
        let pointer = bytes.withUnsafeBufferPointer {
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nil, $0.baseAddress, $0.count)
        }
        guard let pointer else { throw CryptoError.openssl("EVP_PKEY_new_raw_public_key(Ed25519)") }
        key = EVPKey(pointer)
        rawRepresentation = bytes
        keyID = try String(hexDigits(sha256(bytes)).prefix(16))
    }

    /// Whether `signature` is a valid Ed25519 signature of `message` under this key. Fails
    /// closed: a wrong length, a non-canonical signature (OpenSSL rejects S ≥ L) and any
    /// libcrypto failure all return false, with the error queue cleared.
    public func isValidSignature(_ signature: UnsafeRawBufferPointer, for message: UnsafeRawBufferPointer) -> Bool {
        guard signature.count == Self.signatureByteCount, let signatureBytes = signature.baseAddress else { return false }
        guard let ctx = EVP_MD_CTX_new() else {
            ERR_clear_error()
            return false
        }
        defer { EVP_MD_CTX_free(ctx) }  // also frees the EVP_PKEY_CTX that init created
        guard EVP_DigestVerifyInit_ex(ctx, nil, nil, nil, nil, key.pointer, nil) == 1 else {
            ERR_clear_error()
            return false
        }
        var empty: UInt8 = 0  // an empty message still needs a valid pointer
        let verified = withUnsafeBytes(of: &empty) { empty in
            EVP_DigestVerify(
                ctx, signatureBytes.assumingMemoryBound(to: UInt8.self), signature.count,
                (message.baseAddress ?? empty.baseAddress!).assumingMemoryBound(to: UInt8.self), message.count)
        }
        guard verified == 1 else {
            ERR_clear_error()
            return false
        }
        return true
    }

    public func isValidSignature(_ signature: [UInt8], for message: [UInt8]) -> Bool {
        signature.withUnsafeBytes { signature in message.withUnsafeBytes { isValidSignature(signature, for: $0) } }
    }

    public static func == (lhs: Ed25519PublicKey, rhs: Ed25519PublicKey) -> Bool {
        lhs.rawRepresentation == rhs.rawRepresentation
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(rawRepresentation) }
}

extension Ed25519PublicKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Ed25519PublicKey(kid: \(keyID))" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: ["keyID": keyID], displayStyle: .struct) }
}

/// An Ed25519 private key, held only inside libcrypto. Its 32-byte seed (RFC 8032 §5.1.5) is
/// the whole secret: export it with `seed()` to store it wrapped (e.g. with `KeyWrapper`), and
/// rebuild the key with `init(seed:)`. It never prints: descriptions show only the key ID.
public final class Ed25519SigningKey: @unchecked Sendable {
    public let publicKey: Ed25519PublicKey
    private let key: EVPKey

    public var keyID: String { publicKey.keyID }

    public init(seed: SecretKey) throws {
        let pointer = seed.withUnsafeBytes {
            EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nil, $0.baseAddress!.assumingMemoryBound(to: UInt8.self), $0.count)
        }
        guard let pointer else { throw CryptoError.openssl("EVP_PKEY_new_raw_private_key(Ed25519)") }
        key = EVPKey(pointer)  // owned from here: freed on every path below
        var raw = [UInt8](repeating: 0, count: Ed25519PublicKey.byteCount)
        var length = raw.count
        try checkOpenSSL(EVP_PKEY_get_raw_public_key(pointer, &raw, &length), "EVP_PKEY_get_raw_public_key(Ed25519)")
        guard length == Ed25519PublicKey.byteCount else {
            throw CryptoError(.openssl, "Ed25519 public key is \(length) bytes")
        }
        publicKey = try Ed25519PublicKey(rawRepresentation: raw)
    }

    /// A fresh key; the seed comes from OpenSSL's private DRBG, as its own key generation does.
    public static func generate() throws -> Ed25519SigningKey {
        let seed = try SecretKey { buffer in
            try checkOpenSSL(RAND_priv_bytes(buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(buffer.count)), "RAND_priv_bytes")
        }
        return try Ed25519SigningKey(seed: seed)
    }

    /// The 32-byte seed, copied straight into a `SecretKey` (wiped when it is released).
    public func seed() throws -> SecretKey {
        try SecretKey { buffer in
            var length = buffer.count
            try checkOpenSSL(
                EVP_PKEY_get_raw_private_key(key.pointer, buffer.baseAddress!.assumingMemoryBound(to: UInt8.self), &length),
                "EVP_PKEY_get_raw_private_key(Ed25519)")
            guard length == SecretKey.byteCount else { throw CryptoError(.openssl, "Ed25519 seed is \(length) bytes") }
        }
    }

    /// Signs `message` into the first 64 bytes of `signature`. Ed25519 is deterministic: the
    /// same key and message always give the same signature.
    public func sign(_ message: UnsafeRawBufferPointer, into signature: UnsafeMutableRawBufferPointer) throws {
        guard signature.count >= Ed25519PublicKey.signatureByteCount, let output = signature.baseAddress else {
            throw CryptoError(.invalidInput, "signature buffer of \(signature.count) bytes cannot hold 64 bytes")
        }
        guard let ctx = EVP_MD_CTX_new() else { throw CryptoError.openssl("EVP_MD_CTX_new") }
        defer { EVP_MD_CTX_free(ctx) }
        try checkOpenSSL(EVP_DigestSignInit_ex(ctx, nil, nil, nil, nil, key.pointer, nil), "Ed25519 sign init")
        var length = Ed25519PublicKey.signatureByteCount
        var empty: UInt8 = 0
        try withUnsafeBytes(of: &empty) { empty in
            try checkOpenSSL(
                EVP_DigestSign(
                    ctx, output.assumingMemoryBound(to: UInt8.self), &length,
                    (message.baseAddress ?? empty.baseAddress!).assumingMemoryBound(to: UInt8.self), message.count),
                "Ed25519 sign")
        }
        guard length == Ed25519PublicKey.signatureByteCount else {
            throw CryptoError(.openssl, "Ed25519 signature is \(length) bytes")
        }
    }

    public func sign(_ message: [UInt8]) throws -> [UInt8] {
        try message.withUnsafeBytes { message in
            try [UInt8](unsafeUninitializedCapacity: Ed25519PublicKey.signatureByteCount) { buffer, count in
                try sign(message, into: UnsafeMutableRawBufferPointer(buffer))
                count = Ed25519PublicKey.signatureByteCount
            }
        }
    }
}

extension Ed25519SigningKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "Ed25519SigningKey(kid: \(keyID), redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .class) }
}

/// Lowercase hex, for key IDs (never for secrets: it allocates unwiped strings).
func hexDigits(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        output.append(digits[Int(byte >> 4)])
        output.append(digits[Int(byte & 0xF)])
    }
    return String(decoding: output, as: UTF8.self)
}
