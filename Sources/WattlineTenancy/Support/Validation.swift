import Foundation
import WattlineProtos
import WattlineWire

/// Checks of request fields, with the INVALID_ARGUMENT message the contract's caller needs.
enum Validate {
    /// A display text of `range` characters (Unicode scalars) without control characters;
    /// required texts (lower bound ≥ 1) must also not be blank.
    static func text(_ value: String, _ field: String, _ range: ClosedRange<Int>) throws {
        let count = value.unicodeScalars.count
        let blank = value.unicodeScalars.allSatisfy { $0.properties.isWhitespace }
        guard range.contains(count), !(range.lowerBound > 0 && blank), !hasControl(value) else {
            let size = range.lowerBound == 0 ? "at most \(range.upperBound)" : "\(range.lowerBound) to \(range.upperBound)"
            let required = range.lowerBound > 0 ? ", not blank," : ""
            throw CallFailure.invalidArgument("\(field) must be \(size) characters\(required) without control characters")
        }
    }

    /// Free text (a reason for the audit log): line breaks and tabs are allowed, other control
    /// characters (U+0000 in particular, which protobuf-c cuts strings at) are not.
    static func freeText(_ value: String, _ field: String, maximum: Int) throws {
        let allowed: Set<Unicode.Scalar> = ["\n", "\r", "\t"]
        guard value.unicodeScalars.count <= maximum,
              !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control && !allowed.contains($0) })
        else {
            throw CallFailure.invalidArgument("\(field) must be at most \(maximum) characters without control characters other than line breaks")
        }
    }

    static func hasControl(_ value: String) -> Bool {
        value.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// An ISO 3166-1 alpha-2 country code, returned in capitals ("ch" is taken as "CH").
    static func country(_ value: String, _ field: String) throws -> String {
        let code = value.uppercased()
        guard code.utf8.count == 2, code.utf8.allSatisfy({ $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") }),
              countryCodes.contains(code)
        else {
            throw CallFailure.invalidArgument("\(field) must be an ISO 3166-1 alpha-2 country code such as \"CH\"")
        }
        return code
    }

    /// Two-letter regions Foundation knows, without the groupings and pseudo-regions CLDR adds
    /// (EU, EZ, UN, QO, XA, XB, ZZ).
    static let countryCodes: Set<String> = {
        let notCountries: Set<String> = ["EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"]
        return Set(Locale.Region.isoRegions.map(\.identifier).filter { $0.utf8.count == 2 && !notCountries.contains($0) })
    }()

    /// An IANA time zone name: "Area/Location" (e.g. "Europe/Zurich") or "UTC". Foundation also
    /// accepts custom offsets ("GMT+5") and some abbreviations, which are not zone names.
    static func timeZone(_ value: String, _ field: String) throws {
        let named = value == "UTC" || (value.contains("/") && TimeZone(identifier: value)?.identifier == value)
        guard value.utf8.count <= 64, named else {
            throw CallFailure.invalidArgument("\(field) must be an IANA time zone name such as \"Europe/Zurich\"")
        }
    }

    /// A postal address: 1 to 4 lines of 1 to 100 characters and a country; returned with the
    /// country in capitals.
    static func address(_ address: TenancyV1.Address?, _ field: String) throws -> TenancyV1.Address {
        guard var address else { throw CallFailure.invalidArgument("\(field) is required") }
        guard (1...4).contains(address.lines.count) else {
            throw CallFailure.invalidArgument("\(field).lines must have 1 to 4 lines")
        }
        for line in address.lines { try text(line, "\(field).lines", 1...100) }
        address.countryCode = try country(address.countryCode, "\(field).country_code")
        return address
    }

    /// Page size: 0 = 50, at most 500.
    static func pageSize(_ value: UInt32) throws -> Int {
        guard value <= 500 else { throw CallFailure.invalidArgument("page_size must be at most 500") }
        return value == 0 ? 50 : Int(value)
    }
}
