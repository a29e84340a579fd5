import WattlineAccess
import WattlineCrypto

/// A high-entropy secret handed out once: a kind prefix ("wlls_" for loggers, "wlcs_" for
/// integration clients) and 43 base64url characters of 256 random bits. The server keeps only
/// the SHA-256 of the whole text (what the access interceptor hashes for logger secrets) and a
/// short non-secret prefix that tells secrets apart in listings.
struct IssuedSecret: Sendable {
    static let randomByteCount = 32
    static let encodedCount = 43
    /// Characters after the kind prefix shown as `secret_prefix` (36 of the 256 bits).
    static let shownCount = 6

    static let loggerPrefix = LoggerSecret.prefix
    static let integrationPrefix = "wlcs_"

    /// The secret itself; goes into one response and nowhere else (never logged).
    let value: String
    let sha256: [UInt8]
    let displayPrefix: String

    static func generate(prefix: String) throws -> IssuedSecret {
        let random = try SecretKey.random().withUnsafeBytes { Array($0) }
        let value = prefix + Base64URL.encode(random)
        return IssuedSecret(value: value, sha256: try hash(value), displayPrefix: String(value.prefix(prefix.count + shownCount)))
    }

    /// The stored form of a presented secret: SHA-256 of its UTF-8 text.
    static func hash(_ presented: String) throws -> [UInt8] {
        try WattlineCrypto.sha256(Array(presented.utf8))
    }

    /// Whether `presented` has the shape of a secret with `prefix` (checked before any lookup).
    static func isWellFormed(_ presented: String, prefix: String) -> Bool {
        let utf8 = presented.utf8
        guard utf8.count == prefix.utf8.count + encodedCount, presented.hasPrefix(prefix) else { return false }
        return utf8.dropFirst(prefix.utf8.count).allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                 UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"): true
            default: false
            }
        }
    }
}

extension IssuedSecret: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    var description: String { "IssuedSecret(\(displayPrefix)…, redacted)" }
    var debugDescription: String { description }
    var customMirror: Mirror { Mirror(self, children: ["displayPrefix": displayPrefix], displayStyle: .struct) }
}
