#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// logfmt encoding (`key=value key2="quoted value"`): one event per line, so nothing a caller
/// passes (messages, metadata, errors) may produce a line break or an unbalanced quote.
enum Logfmt {
    /// Appends ` key=value` (with the leading space unless `line` is empty).
    static func appendPair(_ key: String, _ value: String, alwaysQuote: Bool = false, to line: inout String) {
        if !line.isEmpty { line.append(" ") }
        appendKey(key, to: &line)
        line.append("=")
        appendValue(value, alwaysQuote: alwaysQuote, to: &line)
    }

    /// Keys are bare words: anything outside `[A-Za-z0-9_.:/-]` becomes `_`.
    static func appendKey(_ key: String, to line: inout String) {
        guard !key.isEmpty else { return line.append("_") }
        for scalar in key.unicodeScalars {
            line.unicodeScalars.append(isKeyScalar(scalar) ? scalar : "_")
        }
    }

    /// A value is bare when it is a plain word; otherwise quoted, with `\` `"` and every control or
    /// line-breaking character escaped.
    static func appendValue(_ value: String, alwaysQuote: Bool = false, to line: inout String) {
        guard alwaysQuote || needsQuoting(value) else { return line.append(value) }
        line.append("\"")
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": line.append("\\\"")
            case "\\": line.append("\\\\")
            case "\n": line.append("\\n")
            case "\r": line.append("\\r")
            case "\t": line.append("\\t")
            default:
                if isControlOrLineBreak(scalar) {
                    line.append("\\u")
                    let hex = String(scalar.value, radix: 16)
                    line.append(String(repeating: "0", count: max(0, 4 - hex.count)) + hex)
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        line.append("\"")
    }

    static func needsQuoting(_ value: String) -> Bool {
        value.isEmpty || value.unicodeScalars.contains { scalar in
            scalar == " " || scalar == "=" || scalar == "\"" || scalar == "\\" || isControlOrLineBreak(scalar)
                || scalar.properties.isWhitespace
        }
    }

    private static func isKeyScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "_", ".", ":", "/", "-": true
        default: false
        }
    }

    /// C0, DEL, C1 (including NEL) and the Unicode line and paragraph separators: terminals and
    /// log viewers may break lines on any of them.
    private static func isControlOrLineBreak(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
    }

    /// RFC 3339 UTC with milliseconds, e.g. `2025-06-01T08:30:00.125Z`, without Foundation's formatters.
    static func timestamp() -> String {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        var seconds = now.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ value: Int, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return pad(Int(parts.tm_year) + 1900, 4) + "-" + pad(Int(parts.tm_mon) + 1, 2) + "-" + pad(Int(parts.tm_mday), 2)
            + "T" + pad(Int(parts.tm_hour), 2) + ":" + pad(Int(parts.tm_min), 2) + ":" + pad(Int(parts.tm_sec), 2)
            + "." + pad(Int(now.tv_nsec) / 1_000_000, 3) + "Z"
    }
}
