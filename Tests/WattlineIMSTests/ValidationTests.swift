import Foundation
import Testing
@testable import WattlineIMS

@Suite struct ValidationTests {
    @Test func emailSyntax() {
        for valid in ["a@example.com", "first.last+tag@sub.example.co", "o'neil@example.org", "jörg@müller.example", "x@a-b.ch"] {
            #expect(EmailAddress.isValid(valid), "\(valid)")
        }
        let long = String(repeating: "a", count: 65) + "@example.com"
        for invalid in ["", "a", "@example.com", "a@", "a@b@example.com", "a b@example.com", "a..b@example.com", ".a@example.com",
                        "a.@example.com", "a@localhost", "a@-example.com", "a@example-.com", "a@[192.0.2.1]", "\"q\"@example.com",
                        "a@exa_mple.com", "a\u{200B}b@example.com", long, "a@" + String(repeating: "b", count: 64) + ".com"] {
            #expect(!EmailAddress.isValid(invalid), "\(invalid)")
        }
    }

    @Test func languageTags() throws {
        let canonical = ["en": "en", "de-ch": "de-CH", "DE-CH": "de-CH", "sr-latn-rs": "sr-Latn-RS", "es-419": "es-419",
                         "zh-hant-tw": "zh-Hant-TW", "sl-rozaj-biske": "sl-rozaj-biske", "de-ch-1996": "de-CH-1996",
                         "en-us-u-ca-gregory": "en-US-u-ca-gregory", "x-private": "x-private", "en-x-wattline": "en-x-wattline",
                         "gsw": "gsw", "zh-yue-hk": "zh-yue-HK"]
        for (tag, expected) in canonical {
            #expect(LanguageTag(tag)?.canonical == expected, "\(tag)")
        }
        for invalid in ["", "e", "english", "english-language", "de_CH", "de-", "-de", "de--ch", "de-ch-x", "en-a", "en-a-b-c", "en-u-ca-u-nu",
                        "123", "de-CH\u{0}", "ü", "x", String(repeating: "a-", count: 20) + "a"] {
            #expect(LanguageTag(invalid) == nil, "\(invalid)")
        }
    }

    @Test func phoneNumbers() throws {
        #expect(try ProfileRules.phone("+41441234567") == "+41441234567")
        #expect(try ProfileRules.phone("") == "")
        for invalid in ["41441234567", "+041441234567", "+41 44 123 45 67", "+123456", "+1234567890123456", "+٤١٤٤١٢٣٤٥٦٧", "+"] {
            #expect(throws: (any Error).self, "\(invalid)") { try ProfileRules.phone(invalid) }
        }
    }

    @Test func passwordPolicy() {
        func refused(_ password: String) -> Bool { if case .failure = PasswordPolicy.check(password) { true } else { false } }
        #expect(!refused("correct horse battery staple"))
        #expect(!refused(String(repeating: "é", count: 6) + "abcdef"))
        #expect(refused("elevenchars"))
        #expect(refused(String(repeating: "a", count: 257)))
        #expect(!refused(String(repeating: "ab", count: 128)))
        #expect(refused("aaaaaaaaaaaaaaaa"))
        #expect(refused("Password1234"))
        #expect(refused("QWERTY123456"))
        #expect(refused("tab\tinside password"))
        // 12 scalars after NFC: e + U+0301 counts as one.
        let decomposed = String(repeating: "e\u{301}", count: 11) + "x"
        #expect(!refused(decomposed))
        if case .success(let normalized) = PasswordPolicy.check(decomposed) {
            #expect(normalized.unicodeScalars.count == 12)
        }
    }
}
