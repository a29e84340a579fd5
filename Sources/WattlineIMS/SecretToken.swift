import WattlineCrypto

/// The identity service's bearer secrets (refresh, invitation and password-reset tokens):
/// 32 random bytes (256 bits), base64url without padding (43 URL-safe characters); stored only as
/// SHA-256 of the bytes, so the database can find a presented token but never yields one.
enum SecretToken {
    static let byteCount = 32
    static let encodedCount = 43

    static func generate() throws -> (value: String, hash: [UInt8]) {
        let bytes = try SecretKey.random().withUnsafeBytes { Array($0) }
        return (Base64URL.encode(bytes), try sha256(bytes))
    }

    /// The lookup hash of a presented token, or nil when it cannot be one of ours.
    static func hash(_ presented: String) throws -> [UInt8]? {
        guard presented.utf8.count == encodedCount, let bytes = Base64URL.decode(presented), bytes.count == byteCount else {
            return nil
        }
        return try sha256(bytes)
    }
}

/// Refresh tokens are secret tokens (docs/identity.md, Sessions).
typealias RefreshToken = SecretToken
