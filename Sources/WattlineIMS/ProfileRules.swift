import Foundation
import WattlineWire

/// Validation of profile fields (contract: Profile, UpdateProfileRequest). Each returns the
/// value to store or throws INVALID_ARGUMENT naming the field.
enum ProfileRules {
    /// 1 to 100 characters after trimming surrounding white space; no control, format or line
    /// separator characters (names are shown to other members: no invisible tricks).
    static func displayName(_ raw: String) throws -> String {
        let name = raw.trimmingCharacters(in: .whitespacesAndNewlines).precomposedStringWithCanonicalMapping
        guard (1...100).contains(name.count) else {
            throw CallFailure.invalidArgument("display_name must have 1 to 100 characters")
        }
        guard !name.unicodeScalars.contains(where: {
            switch $0.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator, .unassigned, .privateUse, .surrogate: true
            default: false
            }
        }) else {
            throw CallFailure.invalidArgument("display_name must not contain control or invisible formatting characters")
        }
        return name
    }

    /// E.164: "+", a country code not starting with 0, at most 15 digits in all (at least 7).
    /// Empty means none.
    static func phone(_ raw: String) throws -> String {
        if raw.isEmpty { return "" }
        let digits = raw.utf8.dropFirst()
        guard raw.utf8.first == UInt8(ascii: "+"), (7...15).contains(digits.count),
              digits.first != UInt8(ascii: "0"), digits.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
        else {
            throw CallFailure.invalidArgument("phone must be in E.164 format: + and 7 to 15 digits, e.g. +41441234567")
        }
        return raw
    }

    /// A well-formed BCP 47 language tag (RFC 5646 `langtag` with an ISO 639 language, or a private-use tag), at most 35
    /// characters, returned in canonical case ("de-ch" → "de-CH", "sr-latn" → "sr-Latn").
    /// Whether the subtags are registered is not checked: an unknown locale falls back to "en".
    static func locale(_ raw: String) throws -> String {
        guard let tag = LanguageTag(raw) else {
            throw CallFailure.invalidArgument("locale must be a BCP 47 language tag such as \"de-CH\" (at most 35 characters)")
        }
        return tag.canonical
    }
}

/// RFC 5646 well-formedness, without grandfathered tags and with 2-3-letter languages only:
/// language ["-" script] ["-" region] *("-" variant) *("-" extension) ["-" privateuse], or privateuse.
struct LanguageTag {
    let canonical: String

    init?(_ raw: String) {
        guard (2...35).contains(raw.utf8.count),
              raw.utf8.allSatisfy({ $0 == UInt8(ascii: "-") || Self.isAlphanumeric($0) }) else { return nil }
        let subtags = raw.lowercased().split(separator: "-", omittingEmptySubsequences: false).map(String.init)
        guard subtags.allSatisfy({ (1...8).contains($0.count) }) else { return nil }
        var output: [String] = []
        var index = 0
        func next(_ accept: (String) -> Bool) -> String? {
            guard index < subtags.count, accept(subtags[index]) else { return nil }
            defer { index += 1 }
            return subtags[index]
        }
        if subtags[0] != "x" {
            // language: ISO 639, 2-3 letters (+ up to three 3-letter extlangs). RFC 5646's 4- and
            // 5-8-letter forms are reserved and none is registered: "english" is a mistake, not a locale.
            guard let language = next({ Self.isAlpha($0) && ($0.count == 2 || $0.count == 3) }) else { return nil }
            output.append(language)
            for _ in 0..<3 { if let extlang = next({ Self.isAlpha($0) && $0.count == 3 }) { output.append(extlang) } }
            if let script = next({ Self.isAlpha($0) && $0.count == 4 }) { output.append(script.prefix(1).uppercased() + script.dropFirst()) }
            if let region = next({ (Self.isAlpha($0) && $0.count == 2) || (Self.isDigits($0) && $0.count == 3) }) {
                output.append(region.uppercased())
            }
            while let variant = next({ ($0.count >= 5 && $0.count <= 8) || ($0.count == 4 && $0.first!.isNumber) }) {
                output.append(variant)
            }
            var singletons: Set<String> = []
            while let singleton = next({ $0.count == 1 && $0 != "x" }) {
                guard singletons.insert(singleton).inserted else { return nil }
                output.append(singleton)
                var count = 0
                while let part = next({ (2...8).contains($0.count) }) { output.append(part); count += 1 }
                guard count > 0 else { return nil }
            }
        }
        if let x = next({ $0 == "x" }) {
            output.append(x)
            var count = 0
            while let part = next({ _ in true }) { output.append(part); count += 1 }
            guard count > 0 else { return nil }
        }
        guard index == subtags.count else { return nil }
        canonical = output.joined(separator: "-")
    }

    private static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte | 0x20) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte)
    }
    private static func isAlpha(_ subtag: String) -> Bool { subtag.utf8.allSatisfy { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains($0) } }
    private static func isDigits(_ subtag: String) -> Bool { subtag.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) } }
}
