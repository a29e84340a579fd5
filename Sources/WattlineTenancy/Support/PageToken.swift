import Foundation
import WattlineCrypto
import WattlineWire

/// Where the next page of a listing starts: after the entry with this sort key and id. Opaque to
/// clients (base64url); the first byte names the listing, so that a token is refused by any
/// other listing than the one that returned it.
struct PageToken: Equatable {
    enum Listing: UInt8 {
        case tenants = 1, sites, memberships, meters, channels
    }

    let listing: Listing
    /// The last entry's sort text (a name) for listings by name; empty otherwise.
    let sortKey: String
    /// The last entry's id: 16 UUID bytes, or 8 big-endian bytes of a channel id.
    let id: [UInt8]

    var encoded: String {
        let key = Array(sortKey.utf8)
        return Base64URL.encode([listing.rawValue, UInt8(id.count)] + id + key)
    }

    /// The position a request's `page_token` names (nil for the first page).
    static func decode(_ token: String, for listing: Listing) throws -> PageToken? {
        guard !token.isEmpty else { return nil }
        guard token.utf8.count <= 2_048, let bytes = Base64URL.decode(token), bytes.count >= 2,
              bytes[0] == listing.rawValue, case let idCount = Int(bytes[1]), idCount == 8 || idCount == 16,
              bytes.count >= 2 + idCount,
              let key = String(validating: bytes[(2 + idCount)...], as: UTF8.self)
        else {
            throw CallFailure.invalidArgument("page_token is not one this listing returned")
        }
        return PageToken(listing: listing, sortKey: key, id: Array(bytes[2..<(2 + idCount)]))
    }
}

/// One page of entries sorted in memory (listings by a sealed name, which the database cannot
/// order): entries after the token's position, at most `size`, and the token for the next.
struct SortedPage<Entry> {
    let entries: [Entry]
    let nextToken: String

    /// `entries` are sorted by (`key`, `id`) here; `key` should be the name as compared.
    init(_ all: [Entry], key: (Entry) -> String, id: (Entry) -> [UInt8], after: PageToken?, size: Int,
         listing: PageToken.Listing) {
        let sorted = all.map { (key: key($0), id: id($0), entry: $0) }.sorted(by: Self.ordered)
        let start: Int
        if let after {
            start = sorted.firstIndex { Self.ordered((after.sortKey, after.id), ($0.key, $0.id)) } ?? sorted.count
        } else {
            start = 0
        }
        let page = sorted[start...].prefix(size)
        entries = page.map(\.entry)
        if start + page.count < sorted.count, let last = page.last {
            nextToken = PageToken(listing: listing, sortKey: last.key, id: last.id).encoded
        } else {
            nextToken = ""
        }
    }

    private static func ordered(_ a: (key: String, id: [UInt8]), _ b: (key: String, id: [UInt8])) -> Bool {
        a.key != b.key ? a.key < b.key : a.id.lexicographicallyPrecedes(b.id)
    }

    private static func ordered(_ a: (key: String, id: [UInt8], entry: Entry), _ b: (key: String, id: [UInt8], entry: Entry)) -> Bool {
        ordered((a.key, a.id), (b.key, b.id))
    }
}

/// How names sort and compare for uniqueness: canonically composed and case-folded, so that
/// "Plant A" and "plant a" are one name, whatever the client's Unicode normalisation.
func nameKey(_ name: String) -> String {
    name.precomposedStringWithCanonicalMapping.lowercased()
}
