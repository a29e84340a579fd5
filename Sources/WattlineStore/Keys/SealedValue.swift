import WattlineCrypto

/// The stored form of an encrypted column value: `key id (4 bytes, big-endian) ‖ AEAD sealed box`.
/// The key id says which data key opens it, so values sealed before a key rotation stay readable.
enum SealedValue {
    static func seal(_ plaintext: [UInt8], keyID: Int32, key: SecretKey, associatedData: AssociatedData) throws -> [UInt8] {
        keyID.bigEndianBytes + (try AEAD.seal(plaintext, key: key, associatedData: associatedData.bytes))
    }

    /// The id of the data key that sealed `sealed`.
    static func keyID(of sealed: [UInt8]) throws -> Int32 {
        guard sealed.count >= 4 else { throw CryptoError(.invalidInput, "sealed value shorter than its key id") }
        return sealed.prefix(4).reduce(Int32(0)) { $0 << 8 | Int32($1) }
    }

    static func open(_ sealed: [UInt8], key: SecretKey, associatedData: AssociatedData) throws -> [UInt8] {
        try AEAD.open(Array(sealed.dropFirst(4)), key: key, associatedData: associatedData.bytes)
    }
}
