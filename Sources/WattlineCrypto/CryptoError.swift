/// The one error type of WattlineCrypto. Messages name operations, paths, key IDs and lengths,
/// never key material or plaintext, so they are safe to log.
public struct CryptoError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What went wrong, as an open set of codes: new codes can be added without breaking callers
    /// that switch over the ones they handle.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String

        package init(_ name: String) { self.name = name }

        /// The ciphertext, tag, key or associated data do not match: tampering, wrong key or wrong context.
        public static let authenticationFailed = Code("authenticationFailed")
        /// Malformed input: wrong length, unknown version, bad hex, buffer too small.
        public static let invalidInput = Code("invalidInput")
        /// A master key file is missing, unreadable, too permissive or malformed.
        public static let keyFile = Code("keyFile")
        /// libcrypto reported a failure (the message carries its error queue).
        public static let openssl = Code("openssl")
        /// libargon2 reported a failure (the message carries its reason), e.g. it could not allocate.
        public static let argon2 = Code("argon2")

        public var description: String { name }
    }

    public let code: Code
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "CryptoError(\(code)): \(message)" }
}
