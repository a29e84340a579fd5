/// JSON values in RFC 8785 (JCS) canonical form: object members sorted by their names' UTF-16
/// code units, no whitespace, strings escaped as ECMAScript's JSON.stringify does. Receipts use
/// integers only (times in ms, counts), so numbers are Int64 and print as plain integers.
public indirect enum CanonicalJSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case int(Int64)
    case string(String)
    case array([CanonicalJSON])
    case object([String: CanonicalJSON])

    /// The canonical UTF-8 bytes.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let value): out += Array((value ? "true" : "false").utf8)
        case .int(let value): out += Array(String(value).utf8)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let values):
            out.append(UInt8(ascii: "["))
            for (index, value) in values.enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                value.write(into: &out)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let members):
            out.append(UInt8(ascii: "{"))
            for (index, name) in members.keys.sorted(by: { $0.utf16.lexicographicallyPrecedes($1.utf16) }).enumerated() {
                if index > 0 { out.append(UInt8(ascii: ",")) }
                Self.writeString(name, into: &out)
                out.append(UInt8(ascii: ":"))
                members[name]!.write(into: &out)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static func writeString(_ value: String, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "\""))
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "\""): out += Array("\\\"".utf8)
            case UInt8(ascii: "\\"): out += Array("\\\\".utf8)
            case 0x08: out += Array("\\b".utf8)
            case 0x0C: out += Array("\\f".utf8)
            case 0x0A: out += Array("\\n".utf8)
            case 0x0D: out += Array("\\r".utf8)
            case 0x09: out += Array("\\t".utf8)
            case 0..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                out += Array("\\u00".utf8) + [hex[Int(byte >> 4)], hex[Int(byte & 0x0F)]]
            default: out.append(byte)
            }
        }
        out.append(UInt8(ascii: "\""))
    }

    public subscript(_ name: String) -> CanonicalJSON? {
        guard case .object(let members) = self else { return nil }
        return members[name]
    }

    /// Parses JSON (strict RFC 8259; numbers must be integers within Int64; nesting at most 32).
    public static func parse(_ bytes: [UInt8]) throws -> CanonicalJSON {
        var parser = Parser(bytes: bytes)
        let value = try parser.value(depth: 0)
        parser.skipWhitespace()
        guard parser.index == bytes.count else { throw parser.failure("data after the JSON value") }
        return value
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    private struct Parser {
        let bytes: [UInt8]
        var index = 0

        func failure(_ what: String) -> ParseError { ParseError(description: "invalid JSON at byte \(index): \(what)") }

        mutating func skipWhitespace() {
            while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
        }

        mutating func expect(_ literal: String) throws {
            let expected = Array(literal.utf8)
            guard index + expected.count <= bytes.count, Array(bytes[index..<index + expected.count]) == expected else {
                throw failure("expected \(literal)")
            }
            index += expected.count
        }

        mutating func value(depth: Int) throws -> CanonicalJSON {
            guard depth < 32 else { throw failure("nested too deeply") }
            skipWhitespace()
            guard index < bytes.count else { throw failure("unexpected end") }
            switch bytes[index] {
            case UInt8(ascii: "n"): try expect("null"); return .null
            case UInt8(ascii: "t"): try expect("true"); return .bool(true)
            case UInt8(ascii: "f"): try expect("false"); return .bool(false)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "["):
                index += 1
                var values: [CanonicalJSON] = []
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                while true {
                    values.append(try value(depth: depth + 1))
                    skipWhitespace()
                    guard index < bytes.count else { throw failure("unterminated array") }
                    if bytes[index] == UInt8(ascii: "]") { index += 1; return .array(values) }
                    guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected , or ]") }
                    index += 1
                }
            case UInt8(ascii: "{"):
                index += 1
                var members: [String: CanonicalJSON] = [:]
                skipWhitespace()
                if index < bytes.count, bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                while true {
                    skipWhitespace()
                    guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw failure("expected a member name") }
                    let name = try string()
                    skipWhitespace()
                    try expect(":")
                    guard members[name] == nil else { throw failure("member \(name) twice") }
                    members[name] = try value(depth: depth + 1)
                    skipWhitespace()
                    guard index < bytes.count else { throw failure("unterminated object") }
                    if bytes[index] == UInt8(ascii: "}") { index += 1; return .object(members) }
                    guard bytes[index] == UInt8(ascii: ",") else { throw failure("expected , or }") }
                    index += 1
                }
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
                let start = index
                if bytes[index] == UInt8(ascii: "-") { index += 1 }
                while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
                guard let number = Int64(String(decoding: bytes[start..<index], as: UTF8.self)) else { throw failure("not an Int64") }
                if index < bytes.count, [UInt8(ascii: "."), UInt8(ascii: "e"), UInt8(ascii: "E")].contains(bytes[index]) {
                    throw failure("only integers are used")
                }
                return .int(number)
            default:
                throw failure("unexpected character")
            }
        }

        mutating func string() throws -> String {
            index += 1
            var out: [UInt8] = []
            while true {
                guard index < bytes.count else { throw failure("unterminated string") }
                let byte = bytes[index]
                index += 1
                switch byte {
                case UInt8(ascii: "\""):
                    guard let text = String(validating: out, as: UTF8.self) else { throw failure("string is not UTF-8") }
                    return text
                case UInt8(ascii: "\\"):
                    guard index < bytes.count else { throw failure("unterminated escape") }
                    let escape = bytes[index]
                    index += 1
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(escape)
                    case UInt8(ascii: "b"): out.append(0x08)
                    case UInt8(ascii: "f"): out.append(0x0C)
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "u"):
                        guard index + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16) else {
                            throw failure("bad \\u escape")
                        }
                        index += 4
                        var scalar = UInt32(unit)
                        if (0xD800..<0xDC00).contains(unit) {  // a surrogate pair
                            guard index + 6 <= bytes.count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                                  let low = UInt16(String(decoding: bytes[index + 2..<index + 6], as: UTF8.self), radix: 16),
                                  (0xDC00..<0xE000).contains(low) else { throw failure("lone surrogate") }
                            index += 6
                            scalar = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
                        }
                        guard let character = Unicode.Scalar(scalar) else { throw failure("lone surrogate") }
                        out += Array(String(character).utf8)
                    default: throw failure("unknown escape")
                    }
                case 0..<0x20: throw failure("control character in a string")
                default: out.append(byte)
                }
            }
        }
    }
}
