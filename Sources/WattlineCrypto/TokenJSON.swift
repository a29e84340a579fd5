/// The JSON of token headers and claims: a writer that emits one canonical form (no whitespace,
/// keys in byte order, each once) and a strict RFC 8259 parser for what comes back.
///
/// The parser rejects rather than repairs: duplicate member names (RFC 7515 §5.2 allows a
/// recipient to refuse them, and "last one wins" is how parsers have been confused before),
/// invalid UTF-8, lone surrogates, raw control characters, trailing bytes, and nesting deeper than
/// `maximumDepth`. It only ever sees input already bounded by the token length limit.
package indirect enum JSONValue: Sendable, Equatable {
    case object([(name: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    /// An integer that fits `Int64`, or nil for any other number (fraction, exponent, overflow).
    case number(Int64?)
    case bool(Bool)
    case null

    package static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case let (.object(a), .object(b)): a.count == b.count && zip(a, b).allSatisfy { $0.name == $1.name && $0.value == $1.value }
        case let (.array(a), .array(b)): a == b
        case let (.string(a), .string(b)): a == b
        case let (.number(a), .number(b)): a == b
        case let (.bool(a), .bool(b)): a == b
        case (.null, .null): true
        default: false
        }
    }
}

/// Writes one JSON object member by member. Members must come in strictly increasing byte order
/// of their names, which makes the output deterministic and free of duplicates by construction.
struct JSONObjectWriter {
    private(set) var bytes: [UInt8] = [UInt8(ascii: "{")]
    private var lastName: [UInt8]? = nil

    init(capacity: Int = 256) { bytes.reserveCapacity(capacity) }

    mutating func add(_ name: String, _ value: String) {
        member(name)
        appendString(value)
    }

    mutating func add(_ name: String, _ value: Int64) {
        member(name)
        bytes.append(contentsOf: String(value).utf8)
    }

    mutating func add(_ name: String, _ values: [String]) {
        member(name)
        bytes.append(UInt8(ascii: "["))
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            appendString(value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    mutating func finish() -> [UInt8] {
        bytes.append(UInt8(ascii: "}"))
        return bytes
    }

    private mutating func member(_ name: String) {
        let nameBytes = Array(name.utf8)
        if let lastName {
            precondition(lastName.lexicographicallyPrecedes(nameBytes), "JSON members must be added in sorted order")
            bytes.append(UInt8(ascii: ","))
        }
        lastName = nameBytes
        appendString(name)
        bytes.append(UInt8(ascii: ":"))
    }

    private mutating func appendString(_ value: String) {
        let hex = Array("0123456789abcdef".utf8)
        bytes.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                bytes.append(UInt8(ascii: "\\"))
                bytes.append(byte)
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0x00..<0x20:
                bytes.append(contentsOf: Array("\\u00".utf8))
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default:
                bytes.append(byte)  // UTF-8 passes through unescaped (RFC 8259 §7)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}

package struct JSONParseError: Error, Sendable {
    package let reason: String
}

package struct JSONParser {
    package static let maximumDepth = 16

    private let input: UnsafeRawBufferPointer
    private var position = 0

    /// Parses exactly one JSON value spanning all of `input`.
    package static func parse(_ input: UnsafeRawBufferPointer) throws(JSONParseError) -> JSONValue {
        var parser = JSONParser(input: input)
        parser.skipWhitespace()
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.position == input.count else { throw JSONParseError(reason: "trailing bytes after the JSON value") }
        return value
    }

    package static func parse(_ input: [UInt8]) throws(JSONParseError) -> JSONValue {
        let result: Result<JSONValue, JSONParseError> = input.withUnsafeBytes { bytes in
            do throws(JSONParseError) { return .success(try parse(bytes)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    private init(input: UnsafeRawBufferPointer) { self.input = input }

    private var next: UInt8? { position < input.count ? input[position] : nil }

    private mutating func skipWhitespace() {
        while let byte = next, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { position += 1 }
    }

    private mutating func expect(_ literal: StaticString) throws(JSONParseError) {
        let count = literal.utf8CodeUnitCount
        guard input.count - position >= count else { throw JSONParseError(reason: "truncated literal") }
        for index in 0..<count where input[position + index] != literal.utf8Start[index] {
            throw JSONParseError(reason: "invalid literal")
        }
        position += count
    }

    private mutating func value(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let byte = next else { throw JSONParseError(reason: "unexpected end of input") }
        switch byte {
        case UInt8(ascii: "{"): return try object(depth: depth + 1)
        case UInt8(ascii: "["): return try array(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try string())
        case UInt8(ascii: "t"):
            try expect("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try expect("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try expect("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try number())
        default: throw JSONParseError(reason: "unexpected character")
        }
    }

    private mutating func object(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw JSONParseError(reason: "nested too deeply") }
        position += 1  // {
        var members: [(name: String, value: JSONValue)] = []
        var names = Set<String>()
        skipWhitespace()
        if next == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard next == UInt8(ascii: "\"") else { throw JSONParseError(reason: "expected a member name") }
            let name = try string()
            guard names.insert(name).inserted else { throw JSONParseError(reason: "duplicate member name") }
            skipWhitespace()
            guard next == UInt8(ascii: ":") else { throw JSONParseError(reason: "expected ':'") }
            position += 1
            skipWhitespace()
            members.append((name, try value(depth: depth)))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default: throw JSONParseError(reason: "expected ',' or '}'")
            }
        }
    }

    private mutating func array(depth: Int) throws(JSONParseError) -> JSONValue {
        guard depth <= Self.maximumDepth else { throw JSONParseError(reason: "nested too deeply") }
        position += 1  // [
        var elements: [JSONValue] = []
        skipWhitespace()
        if next == UInt8(ascii: "]") {
            position += 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try value(depth: depth))
            skipWhitespace()
            switch next {
            case UInt8(ascii: ","): position += 1
            case UInt8(ascii: "]"):
                position += 1
                return .array(elements)
            default: throw JSONParseError(reason: "expected ',' or ']'")
            }
        }
    }

    /// RFC 8259 §6 grammar; returns the value only for plain integers that fit `Int64`.
    private mutating func number() throws(JSONParseError) -> Int64? {
        var negative = false
        if next == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard let first = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw JSONParseError(reason: "invalid number")
        }
        // Accumulate negatively so Int64.min parses; nil once it overflows.
        var magnitude: Int64? = 0
        if first == UInt8(ascii: "0") {
            position += 1
        } else {
            while let digit = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) {
                if let current = magnitude {
                    let (shifted, o1) = current.multipliedReportingOverflow(by: 10)
                    let (sum, o2) = shifted.subtractingReportingOverflow(Int64(digit - UInt8(ascii: "0")))
                    magnitude = o1 || o2 ? nil : sum
                }
                position += 1
            }
        }
        var integral = true
        if next == UInt8(ascii: ".") {
            integral = false
            position += 1
            guard try digits() > 0 else { throw JSONParseError(reason: "invalid number") }
        }
        if next == UInt8(ascii: "e") || next == UInt8(ascii: "E") {
            integral = false
            position += 1
            if next == UInt8(ascii: "+") || next == UInt8(ascii: "-") { position += 1 }
            guard try digits() > 0 else { throw JSONParseError(reason: "invalid number") }
        }
        guard integral, let magnitude else { return nil }
        if negative { return magnitude }
        return magnitude == Int64.min ? nil : -magnitude
    }

    private mutating func digits() throws(JSONParseError) -> Int {
        var count = 0
        while let digit = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) {
            position += 1
            count += 1
        }
        return count
    }

    private mutating func string() throws(JSONParseError) -> String {
        position += 1  // opening quote
        var bytes: [UInt8] = []
        while true {
            guard let byte = next else { throw JSONParseError(reason: "unterminated string") }
            position += 1
            switch byte {
            case UInt8(ascii: "\""):
                guard let string = String(validating: bytes, as: UTF8.self) else {
                    throw JSONParseError(reason: "string is not valid UTF-8")
                }
                return string
            case UInt8(ascii: "\\"):
                guard let escape = next else { throw JSONParseError(reason: "unterminated escape") }
                position += 1
                switch escape {
                case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): bytes.append(escape)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"): appendScalar(try unicodeEscape(), to: &bytes)
                default: throw JSONParseError(reason: "invalid escape")
                }
            case 0x00..<0x20:
                throw JSONParseError(reason: "raw control character in string")
            default:
                bytes.append(byte)
            }
        }
    }

    /// After `\u`: one BMP scalar, or a surrogate pair spelt as two escapes. Lone surrogates are refused.
    private mutating func unicodeEscape() throws(JSONParseError) -> Unicode.Scalar {
        let high = try hex4()
        if (0xDC00...0xDFFF).contains(high) { throw JSONParseError(reason: "lone low surrogate") }
        if (0xD800...0xDBFF).contains(high) {
            guard input.count - position >= 6, input[position] == UInt8(ascii: "\\"), input[position + 1] == UInt8(ascii: "u")
            else { throw JSONParseError(reason: "lone high surrogate") }
            position += 2
            let low = try hex4()
            guard (0xDC00...0xDFFF).contains(low) else { throw JSONParseError(reason: "lone high surrogate") }
            return Unicode.Scalar(0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00))!
        }
        return Unicode.Scalar(high)!
    }

    private mutating func hex4() throws(JSONParseError) -> UInt32 {
        guard input.count - position >= 4 else { throw JSONParseError(reason: "truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let c = input[position]
            let digit: UInt8
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = c - UInt8(ascii: "A") + 10
            default: throw JSONParseError(reason: "invalid \\u escape")
            }
            value = value << 4 | UInt32(digit)
            position += 1
        }
        return value
    }

    private func appendScalar(_ scalar: Unicode.Scalar, to bytes: inout [UInt8]) {
        bytes.append(contentsOf: UTF8.encode(scalar)!)
    }
}
