import Foundation
import WattlineCrypto
import WattlineWire

/// What a new password must be (contract: 12 to 256 characters, not breached), applied wherever
/// a password is set: registration, change, reset, `ImsAdmin.createIdentity`.
///
/// Length counts Unicode scalars after NFC (docs/identity.md, Passwords). Control characters are
/// refused because protobuf-c cuts strings at U+0000 and the rest cannot be typed reliably.
/// "Breached" is a small built-in list of the most common passwords of 12 characters or more
/// (shorter ones fail the length rule anyway) and a single character repeated; it is not a
/// breach corpus such as Have I Been Pwned's.
enum PasswordPolicy {
    static let minimumLength = 12
    static let maximumLength = 256

    /// The NFC form of `password` if acceptable, else the reason it is not (safe to show).
    static func check(_ password: String) -> Result<String, Refusal> {
        let normalized = password.precomposedStringWithCanonicalMapping
        let length = normalized.unicodeScalars.count
        guard (minimumLength...maximumLength).contains(length) else {
            return .failure(Refusal("it must have \(minimumLength) to \(maximumLength) characters"))
        }
        guard !normalized.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            return .failure(Refusal("it must not contain control characters"))
        }
        let folded = normalized.lowercased()
        if Set(folded.unicodeScalars).count == 1 || commonPasswords.contains(folded) {
            return .failure(Refusal("it is one of the most common passwords"))
        }
        return .success(normalized)
    }

    /// `check` as the RPCs answer it: INVALID_ARGUMENT naming the field.
    static func validated(_ password: String, field: String) throws -> String {
        switch check(password) {
        case .success(let normalized): return normalized
        case .failure(let refusal): throw CallFailure.invalidArgument("\(field) refused: \(refusal.reason)")
        }
    }

    struct Refusal: Error {
        let reason: String
        init(_ reason: String) { self.reason = reason }
    }

    /// Lower-cased; compared with the lower-cased password. From public top-password lists,
    /// those of at least 12 characters.
    static let commonPasswords: Set<String> = [
        "123456789012", "1234567890123", "12345678901234", "123456789012345", "1234567891011",
        "123456789101", "098765432109", "987654321098", "123123123123", "123412341234",
        "121212121212", "112233445566", "123321123321", "1q2w3e4r5t6y", "1q2w3e4r5t6y7u",
        "1qaz2wsx3edc", "1qaz2wsx3edc4rfv", "1qazxsw23edc", "zaq12wsxcde3", "zaq1xsw2cde3",
        "qazwsxedcrfv", "qwertyuiop12", "qwertyuiop123", "qwertyuiopasdfghjkl", "qwertyuiopas",
        "qwerty123456", "qwerty1234567", "qwerty123456789", "qwertyqwerty", "asdfghjkl123",
        "asdfasdfasdf", "zxcvbnm12345", "zxcvbnm123456", "abcdefghijkl",
        "abcdefghijklm", "abcd1234abcd", "abc123456789", "abc123abc123", "a1b2c3d4e5f6",
        "password1234", "password12345", "password123456", "password123!", "password1234!",
        "passwordpassword", "password1password", "p@ssw0rd1234", "p@ssword1234", "passw0rd1234",
        "iloveyou1234", "iloveyou123456", "welcome12345", "welcome123456", "letmein12345",
        "changeme1234", "administrator", "administrator1", "football1234", "baseball1234",
        "superman1234", "starwars1234", "trustno1trustno1", "princess1234", "sunshine1234",
        "monkey123456", "dragon123456", "master123456", "shadow123456", "michael12345",
        "qwertyuiop1234", "1234567890qwerty", "qwerty1234567890", "123456qwerty", "123qweasdzxc",
        "1234qwerasdf", "q1w2e3r4t5y6", "1a2b3c4d5e6f", "pa55word1234", "wattline1234",
    ]
}
