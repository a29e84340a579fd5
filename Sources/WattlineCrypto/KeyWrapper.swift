/// Wraps data-encryption keys (DEKs) under a master key with `AEAD`, binding each wrapping to
/// the master key's ID and the DEK's ID through the associated data
///
///     "wattline-dek-v1" | len(masterKeyID) | masterKeyID | len(keyID) | keyID
///
/// so a wrapped key cannot be presented under another key ID or master. Rotating the master key
/// only re-wraps DEKs (`rewrap`); data sealed under the DEKs is untouched.
public struct KeyWrapper: Sendable {
    static let label = "wattline-dek-v1"

    public let masterKeyID: String
    private let masterKey: SecretKey

    public init(masterKey: SecretKey, masterKeyID: String) {
        self.masterKey = masterKey
        self.masterKeyID = masterKeyID
    }

    /// Returns `AEAD.overhead + 32` bytes to store beside `keyID` and `masterKeyID`.
    public func wrap(_ dataKey: SecretKey, keyID: String) throws -> [UInt8] {
        let associatedData = try associatedData(keyID: keyID)
        let context = try AEAD.Context(key: masterKey)
        return try dataKey.withUnsafeBytes { dataKey in
            try associatedData.withUnsafeBytes { associatedData in
                try [UInt8](unsafeUninitializedCapacity: AEAD.sealedByteCount(plaintextByteCount: SecretKey.byteCount)) {
                    buffer, count in
                    count = try context.seal(dataKey, associatedData: associatedData, into: UnsafeMutableRawBufferPointer(buffer))
                }
            }
        }
    }

    /// Decrypts straight into the new key's own storage, so no unwiped copy of the DEK is left behind.
    public func unwrap(_ wrapped: [UInt8], keyID: String) throws -> SecretKey {
        guard wrapped.count == AEAD.sealedByteCount(plaintextByteCount: SecretKey.byteCount) else {
            throw CryptoError(.invalidInput, "wrapped key '\(keyID)' is \(wrapped.count) bytes, expected \(AEAD.sealedByteCount(plaintextByteCount: SecretKey.byteCount))")
        }
        let associatedData = try associatedData(keyID: keyID)
        let context = try AEAD.Context(key: masterKey)
        do {
            return try SecretKey { storage in
                _ = try wrapped.withUnsafeBytes { wrapped in
                    try associatedData.withUnsafeBytes { associatedData in
                        try context.open(wrapped, associatedData: associatedData, into: storage)
                    }
                }
            }
        } catch let error as CryptoError where error.code == .authenticationFailed {
            throw CryptoError(
                .authenticationFailed,
                "wrapped key '\(keyID)' does not verify under master key '\(masterKeyID)' (wrong master key, key ID, or tampered)")
        }
    }

    /// Master-key rotation: unwraps with `self` (the old master) and wraps with `newWrapper`.
    public func rewrap(_ wrapped: [UInt8], keyID: String, to newWrapper: KeyWrapper) throws -> [UInt8] {
        try newWrapper.wrap(unwrap(wrapped, keyID: keyID), keyID: keyID)
    }

    private func associatedData(keyID: String) throws -> [UInt8] {
        var encoder = LengthPrefixed(label: Self.label)
        try encoder.append(masterKeyID.utf8)
        try encoder.append(keyID.utf8)
        return encoder.bytes
    }
}
