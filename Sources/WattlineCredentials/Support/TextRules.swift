import WattlineWire

/// The contracts' rules for free text: a length in characters, and no control characters
/// (protobuf-c cuts strings at U+0000, and the rest have no place in names).
enum TextRules {
    static func check(_ value: String, _ field: String, min: Int = 0, max: Int) throws {
        let count = value.count
        guard count >= min, count <= max else {
            throw CallFailure.invalidArgument(
                min > 0 ? "\(field) must be \(min) to \(max) characters" : "\(field) must be at most \(max) characters")
        }
        guard !value.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CallFailure.invalidArgument("\(field) must not contain control characters")
        }
    }
}

/// Paging as every list of the contracts has it: 0 = 50, at most 500.
enum PageSize {
    static func resolve(_ requested: UInt32) throws -> Int {
        guard requested <= 500 else { throw CallFailure.invalidArgument("page_size must be at most 500") }
        return requested == 0 ? 50 : Int(requested)
    }
}
