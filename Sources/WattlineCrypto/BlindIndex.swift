/// Deterministic HMAC-SHA256 tags for equality lookups on encrypted columns (e.g. a normalised
/// e-mail address): equal inputs give equal 32-byte tags, and without the key the tags reveal
/// nothing else. Normalise values before indexing, and use a key derived only for this purpose
/// (`dataKey.derive(label: "blind-index")`), never the encryption key itself.
public struct BlindIndex: Sendable {
    public static let byteCount = 32
    private let key: SecretKey

    public init(key: SecretKey) {
        self.key = key
    }

    /// Throws only if libcrypto cannot provide HMAC-SHA256 (e.g. a misconfigured provider).
    public func index(_ value: [UInt8]) throws -> [UInt8] {
        try key.withUnsafeBytes { key in
            try value.withUnsafeBytes { try hmacSHA256(key: key, message: $0) }
        }
    }
}
