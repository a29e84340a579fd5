/// AES-256-GCM with a self-describing format:
///
///     version (1 byte, 0x01) | nonce (12 bytes) | ciphertext | tag (16 bytes)
///
/// The version byte is authenticated too (it is prepended to the caller's associated data), so it
/// cannot be swapped to steer a future decoder.
///
/// Nonces are 96-bit random values. NIST SP 800-38D §8.3 caps random-nonce GCM at 2^32
/// invocations per key, which keeps the chance of a repeated nonce (fatal for GCM: it leaks the
/// XOR of plaintexts and the authentication key) below 2^-32. Wattline encrypts with per-tenant
/// data keys that rotate, so one key sees orders of magnitude fewer than 2^32 seals; rotate
/// sooner for any key that could approach ~2^30 values.
///
/// The static functions set up a keyed OpenSSL context per call. For many values under one key,
/// create an `AEAD.Context` once and reuse it: that skips the key schedule and allocations.
public enum AEAD {
    public static let version: UInt8 = 0x01
    public static let nonceByteCount = 12
    public static let tagByteCount = 16
    /// Bytes added to every plaintext: version + nonce + tag.
    public static let overhead = 1 + nonceByteCount + tagByteCount

    public static func sealedByteCount(plaintextByteCount: Int) -> Int { plaintextByteCount + overhead }

    public static func seal(_ plaintext: [UInt8], key: SecretKey, associatedData: [UInt8]) throws -> [UInt8] {
        try Context(key: key).seal(plaintext, associatedData: associatedData)
    }

    /// Seals into `output` (at least `sealedByteCount(plaintextByteCount:)` bytes, not overlapping
    /// `plaintext`) and returns the number of bytes written.
    public static func seal(
        _ plaintext: UnsafeRawBufferPointer, key: SecretKey, associatedData: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        try Context(key: key).seal(plaintext, associatedData: associatedData, into: output)
    }

    /// Throws `.invalidInput` for truncated or unknown-version input and `.authenticationFailed`
    /// for anything else that does not verify (tampering, wrong key, wrong associated data).
    public static func open(_ sealed: [UInt8], key: SecretKey, associatedData: [UInt8]) throws -> [UInt8] {
        try Context(key: key).open(sealed, associatedData: associatedData)
    }

    /// Opens into `output` (at least `sealed.count - overhead` bytes, not overlapping `sealed`) and
    /// returns the plaintext length. On failure nothing decrypted is left in `output`.
    public static func open(
        _ sealed: UnsafeRawBufferPointer, key: SecretKey, associatedData: UnsafeRawBufferPointer,
        into output: UnsafeMutableRawBufferPointer
    ) throws -> Int {
        try Context(key: key).open(sealed, associatedData: associatedData, into: output)
    }

    // MARK: Test hooks

    /// The sealed format with a caller-chosen nonce. Only for known-answer tests: a fixed nonce
    /// reused under one key breaks GCM.
    package static func sealDeterministic(
        _ plaintext: [UInt8], key: SecretKey, nonce: [UInt8], associatedData: [UInt8]
    ) throws -> [UInt8] {
        guard nonce.count == nonceByteCount else {
            throw CryptoError(.invalidInput, "nonce must be \(nonceByteCount) bytes")
        }
        let context = try Context(key: key)
        return try plaintext.withUnsafeBytes { plaintext in
            try associatedData.withUnsafeBytes { associatedData in
                try nonce.withUnsafeBytes { nonce in
                    try [UInt8](unsafeUninitializedCapacity: sealedByteCount(plaintextByteCount: plaintext.count)) {
                        buffer, count in
                        count = try context.seal(
                            plaintext, associatedData: associatedData, into: UnsafeMutableRawBufferPointer(buffer),
                            fixedNonce: nonce.baseAddress)
                    }
                }
            }
        }
    }

    /// Plain AES-256-GCM (no version byte, no framing), for NIST / McGrew–Viega vectors.
    package static func gcmEncrypt(
        key: SecretKey, nonce: [UInt8], associatedData: [UInt8], plaintext: [UInt8]
    ) throws -> (ciphertext: [UInt8], tag: [UInt8]) {
        guard nonce.count == nonceByteCount else { throw CryptoError(.invalidInput, "nonce must be 12 bytes") }
        let context = try Context(key: key)
        var tag = [UInt8](repeating: 0, count: tagByteCount)
        var ciphertext = [UInt8](repeating: 0, count: plaintext.count)
        try nonce.withUnsafeBytes { nonce in
            try associatedData.withUnsafeBytes { associatedData in
                try plaintext.withUnsafeBytes { plaintext in
                    try ciphertext.withUnsafeMutableBytes { ciphertext in
                        try tag.withUnsafeMutableBytes { tag in
                            try context.encrypt(
                                nonce: nonce.baseAddress!, aadParts: (UnsafeRawBufferPointer(start: nil, count: 0), associatedData),
                                plaintext: plaintext, ciphertext: ciphertext.baseAddress, tag: tag.baseAddress!)
                        }
                    }
                }
            }
        }
        return (ciphertext, tag)
    }

    package static func gcmDecrypt(
        key: SecretKey, nonce: [UInt8], associatedData: [UInt8], ciphertext: [UInt8], tag: [UInt8]
    ) throws -> [UInt8] {
        guard nonce.count == nonceByteCount, tag.count == tagByteCount else {
            throw CryptoError(.invalidInput, "nonce must be 12 bytes and tag 16 bytes")
        }
        let context = try Context(key: key)
        var plaintext = [UInt8](repeating: 0, count: ciphertext.count)
        try nonce.withUnsafeBytes { nonce in
            try associatedData.withUnsafeBytes { associatedData in
                try ciphertext.withUnsafeBytes { ciphertext in
                    try tag.withUnsafeBytes { tag in
                        try plaintext.withUnsafeMutableBytes { plaintext in
                            try context.decrypt(
                                nonce: nonce.baseAddress!, aadParts: (UnsafeRawBufferPointer(start: nil, count: 0), associatedData),
                                ciphertext: ciphertext, tag: tag.baseAddress!, plaintext: plaintext.baseAddress)
                        }
                    }
                }
            }
        }
        return plaintext
    }
}
