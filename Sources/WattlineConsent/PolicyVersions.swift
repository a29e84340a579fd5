import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// Published Data Use and Protection policy versions (`wattline.consent_policy_versions`):
/// immutable, one per policy, version and locale, each text kept with its SHA-256.
enum PolicyVersions {
    static let columns = """
        policy_version_id, policy_id, version, locale, title, text, text_sha256, array_to_string(scopes, ','), requires_resigning,
        policy_url, published_at_ms, published_by
        """

    static func read(_ row: PGRow, withText: Bool) throws -> ConsentV1.PolicyVersion {
        var version = ConsentV1.PolicyVersion()
        version.policyVersionID = try row.uuid(0).bytes
        version.policyID = try row.uuid(1).bytes
        version.version = try row.string(2)
        version.locale = try row.string(3)
        version.title = try row.string(4)
        if withText { version.text = try row.string(5) }
        version.textSHA256 = try row.bytes(6)
        version.scopes = try Self.scopes(row, 7)
        version.requiresResigning = try row.bool(8)
        version.policyURL = try row.string(9)
        version.publishedAtMs = try row.int64(10)
        version.publishedByIdentityID = try row.uuid(11).bytes
        return version
    }

    /// A `smallint[]` column read as `array_to_string(column, ',')`.
    static func scopes(_ row: PGRow, _ column: Int) throws -> [ConsentV1.Scope] {
        try row.string(column).split(separator: ",").compactMap { Int32($0).map(ConsentV1.Scope.init(rawValue:)) }
    }

    /// For `$n::text[]::smallint[]`.
    static func scopeArray(_ scopes: [ConsentV1.Scope]) -> PGValue {
        .textArray(scopes.map { String($0.rawValue) })
    }

    /// Known, distinct, at least one.
    static func validScopes(_ scopes: [ConsentV1.Scope]) throws -> [ConsentV1.Scope] {
        guard !scopes.isEmpty else { throw CallFailure.invalidArgument("scopes must name at least one scope") }
        for scope in scopes {
            switch scope {
            case .cloudStorage, .exportThirdParty, .analytics, .bulkDownload: continue
            default: throw CallFailure.invalidArgument("scopes holds \(scope), which is no scope")
            }
        }
        guard Set(scopes.map(\.rawValue)).count == scopes.count else { throw CallFailure.invalidArgument("scopes names a scope twice") }
        return scopes.sorted { $0.rawValue < $1.rawValue }
    }

    /// A BCP 47 tag of the usual shape: a language, then subtags ("fr", "fr-CH", "zh-Hant-TW").
    static func validLocale(_ locale: String) -> Bool {
        let parts = locale.split(separator: "-", omittingEmptySubsequences: false)
        guard let language = parts.first, (2...3).contains(language.count), language.allSatisfy({ $0.isASCII && $0.isLetter }) else { return false }
        return parts.dropFirst().allSatisfy { (2...8).contains($0.count) && $0.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) } }
    }

    /// The newest version of `policy` in `locale`, falling back to the language alone, then "en".
    static func latest(_ query: (String, [PGValue]) throws -> PGResult, policy: UUID, locale: String) throws -> PGRow? {
        var candidates = [locale]
        if let language = locale.split(separator: "-").first.map(String.init), language != locale { candidates.append(language) }
        if !candidates.contains("en") { candidates.append("en") }
        for candidate in candidates {
            if let row = try query(
                "SELECT \(columns) FROM wattline.consent_policy_versions WHERE policy_id = $1 AND locale = $2 ORDER BY published_at_ms DESC, policy_version_id DESC LIMIT 1",
                [.uuid(policy), .text(candidate)]).first {
                return row
            }
        }
        return nil
    }
}
