import Foundation
import Testing
import WattlineWire
@testable import WattlineTenancy

@Suite("Validation")
struct ValidationTests {
    @Test("time zones are IANA names", arguments: ["Europe/Zurich", "America/Argentina/Buenos_Aires", "Asia/Kolkata", "UTC"])
    func goodTimeZones(_ zone: String) throws {
        try Validate.timeZone(zone, "time_zone")
    }

    @Test("offsets, abbreviations and unknown names are not", arguments: ["", "GMT+5", "UTC+1", "PST", "Mars/Base", "europe/zurich", "Z"])
    func badTimeZones(_ zone: String) {
        #expect(throws: CallFailure.self) { try Validate.timeZone(zone, "time_zone") }
    }

    @Test("countries are ISO 3166-1 alpha-2 codes")
    func countries() throws {
        #expect(try Validate.country("ch", "c") == "CH")
        #expect(try Validate.country("DE", "c") == "DE")
        for bad in ["", "C", "CHE", "EU", "UN", "ZZ", "C1", "Ch\u{0}"] {
            #expect(throws: CallFailure.self) { try Validate.country(bad, "c") }
        }
    }

    @Test("texts: lengths in characters, no control characters, required ones not blank")
    func texts() throws {
        try Validate.text(String(repeating: "ü", count: 100), "n", 1...100)
        try Validate.text("", "n", 0...100)
        for bad in ["", " \t", "a\u{0}b", "line\nbreak", String(repeating: "x", count: 101)] {
            #expect(throws: CallFailure.self) { try Validate.text(bad, "n", 1...100) }
        }
        try Validate.freeText("first line\nsecond", "reason", maximum: 500)
        #expect(throws: CallFailure.self) { try Validate.freeText("bell\u{7}", "reason", maximum: 500) }
    }

    @Test("page tokens round-trip and are bound to their listing")
    func pageTokens() throws {
        let token = PageToken(listing: .sites, sortKey: "plant süd", id: UUID.v7().bytes)
        #expect(try PageToken.decode(token.encoded, for: .sites) == token)
        #expect(throws: CallFailure.self) { try PageToken.decode(token.encoded, for: .tenants) }
        #expect(throws: CallFailure.self) { try PageToken.decode("!!", for: .sites) }
        #expect(try PageToken.decode("", for: .sites) == nil)
    }

    @Test("sorted pages resume after the last entry, even if it was removed")
    func sortedPages() throws {
        struct Entry { let name: String; let id: [UInt8] }
        let entries = ["d", "b", "a", "c", "e"].map { Entry(name: $0, id: Array(repeating: $0.utf8.first!, count: 16)) }
        let first = SortedPage(entries, key: \.name, id: \.id, after: nil, size: 2, listing: .sites)
        #expect(first.entries.map(\.name) == ["a", "b"])
        let token = try PageToken.decode(first.nextToken, for: .sites)
        #expect(token != nil)
        let remaining = entries.filter { $0.name != "b" }
        let second = SortedPage(remaining, key: \.name, id: \.id, after: token, size: 2, listing: .sites)
        #expect(second.entries.map(\.name) == ["c", "d"])
        #expect(!second.nextToken.isEmpty)
    }
}
