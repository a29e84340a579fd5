import WattlineCrypto

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

    /// Parses JSON with the project's strict RFC 8259 parser (the one access tokens use: no
    /// duplicate members, no lone surrogates, no trailing bytes); numbers must be Int64 integers.
    public static func parse(_ bytes: [UInt8]) throws -> CanonicalJSON {
        do {
            return try convert(JSONParser.parse(bytes))
        } catch let error as JSONParseError {
            throw ParseError(description: "invalid JSON: \(error.reason)")
        }
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let description: String
    }

    private static func convert(_ value: JSONValue) throws -> CanonicalJSON {
        switch value {
        case .null: return .null
        case .bool(let value): return .bool(value)
        case .number(let value?): return .int(value)
        case .number(nil): throw ParseError(description: "invalid JSON: only integers within Int64 are used")
        case .string(let value): return .string(value)
        case .array(let values): return .array(try values.map(convert))
        case .object(let members):
            var object: [String: CanonicalJSON] = [:]
            for member in members { object[member.name] = try convert(member.value) }
            return .object(object)
        }
    }
}
