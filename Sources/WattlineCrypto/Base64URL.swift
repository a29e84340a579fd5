/// base64url without padding (RFC 4648 §5, as JWS uses it, RFC 7515 §2).
///
/// Decoding is strict: only the URL-safe alphabet, no padding or whitespace, no length ≡ 1
/// (mod 4), and the unused low bits of the last character must be zero. So every byte string
/// has exactly one accepted encoding, and a token cannot be re-spelt (e.g. to dodge a lookup by
/// its hash) without changing what it decodes to.
package enum Base64URL {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    private static let values: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, character) in alphabet.enumerated() { table[Int(character)] = UInt8(index) }
        return table
    }()

    package static func encodedCount(_ byteCount: Int) -> Int { (byteCount * 4 + 2) / 3 }

    package static func encode(_ input: UnsafeRawBufferPointer, appendingTo output: inout [UInt8]) {
        output.reserveCapacity(output.count + encodedCount(input.count))
        var index = 0
        while index + 3 <= input.count {
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8 | UInt32(input[index + 2])
            output.append(alphabet[Int(group >> 18)])
            output.append(alphabet[Int(group >> 12 & 63)])
            output.append(alphabet[Int(group >> 6 & 63)])
            output.append(alphabet[Int(group & 63)])
            index += 3
        }
        switch input.count - index {
        case 1:
            let group = UInt32(input[index]) << 16
            output.append(alphabet[Int(group >> 18)])
            output.append(alphabet[Int(group >> 12 & 63)])
        case 2:
            let group = UInt32(input[index]) << 16 | UInt32(input[index + 1]) << 8
            output.append(alphabet[Int(group >> 18)])
            output.append(alphabet[Int(group >> 12 & 63)])
            output.append(alphabet[Int(group >> 6 & 63)])
        default:
            break
        }
    }

    package static func encode(_ input: [UInt8]) -> String {
        var output: [UInt8] = []
        input.withUnsafeBytes { encode($0, appendingTo: &output) }
        return String(decoding: output, as: UTF8.self)
    }

    /// The decoded bytes, or nil for anything but the one canonical encoding.
    package static func decode(_ input: UnsafeRawBufferPointer) -> [UInt8]? {
        let remainder = input.count % 4
        guard remainder != 1 else { return nil }
        var output: [UInt8] = []
        output.reserveCapacity(input.count / 4 * 3 + 2)
        var group: UInt32 = 0
        var pending = 0
        for character in input {
            let value = values[Int(character)]
            guard value != 0xFF else { return nil }
            group = group << 6 | UInt32(value)
            pending += 1
            if pending == 4 {
                output.append(UInt8(truncatingIfNeeded: group >> 16))
                output.append(UInt8(truncatingIfNeeded: group >> 8))
                output.append(UInt8(truncatingIfNeeded: group))
                group = 0
                pending = 0
            }
        }
        switch pending {
        case 2:  // 12 bits: one byte, 4 unused bits
            guard group & 0xF == 0 else { return nil }
            output.append(UInt8(truncatingIfNeeded: group >> 4))
        case 3:  // 18 bits: two bytes, 2 unused bits
            guard group & 0x3 == 0 else { return nil }
            output.append(UInt8(truncatingIfNeeded: group >> 10))
            output.append(UInt8(truncatingIfNeeded: group >> 2))
        default:
            break
        }
        return output
    }

    package static func decode(_ input: String) -> [UInt8]? {
        var input = input
        return input.withUTF8 { decode(UnsafeRawBufferPointer($0)) }
    }
}
