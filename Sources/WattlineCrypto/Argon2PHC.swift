/// A stored argon2id string in the PHC format, parsed strictly before any of it reaches libargon2:
///
///     $argon2id$v=19$m=<KiB>,t=<passes>,p=<lanes>$<salt>$<hash>   (unpadded standard base64)
///
/// libargon2 would itself accept costs up to 4 TiB of memory, 2^32 passes and 2^24 threads, a
/// missing `v=` (meaning the older version 0x10), and would silently truncate a decimal above
/// 2^32 to 32 bits. So everything is checked here first: version 19 only, canonical decimals
/// within `Parameters`' bounds, canonical base64, salt 8–64 bytes, hash 16–64 bytes.
package struct Argon2PHC: Sendable, Hashable {
    package let parameters: PasswordHasher.Parameters
    package let saltByteCount: Int
    package let hashByteCount: Int

    static let maximumLength = 256  // the longest valid string is ~210 characters
    static let saltByteCounts = 8...64  // libargon2's minimum salt is 8 bytes
    static let hashByteCounts = 16...64  // shorter tags make a forged match cheaper

    /// Nil for anything that is not such a string.
    package init?(_ phc: String) {
        var reader = Reader(Array(phc.utf8.prefix(Self.maximumLength + 1)))
        guard reader.bytes.count <= Self.maximumLength,
            reader.skip("$argon2id$v=19$m="), let memory = reader.decimal(),
            reader.skip(",t="), let iterations = reader.decimal(),
            reader.skip(",p="), let parallelism = reader.decimal(),
            reader.skip("$"), let salt = reader.base64ByteCount(),
            reader.skip("$"), let hash = reader.base64ByteCount(),
            reader.isAtEnd
        else { return nil }
        let parameters = PasswordHasher.Parameters(memoryKiB: memory, iterations: iterations, parallelism: parallelism)
        guard parameters.isWithinBounds, Self.saltByteCounts.contains(salt), Self.hashByteCounts.contains(hash) else {
            return nil
        }
        self.parameters = parameters
        saltByteCount = salt
        hashByteCount = hash
    }

    private struct Reader {
        let bytes: [UInt8]
        var index = 0

        init(_ bytes: [UInt8]) { self.bytes = bytes }

        var isAtEnd: Bool { index == bytes.count }

        mutating func skip(_ literal: StaticString) -> Bool {
            let count = literal.utf8CodeUnitCount
            guard bytes.count - index >= count else { return false }
            for offset in 0..<count where bytes[index + offset] != literal.utf8Start[offset] { return false }
            index += count
            return true
        }

        /// A decimal that fits 32 bits, without sign or leading zeros (as libargon2 writes them).
        mutating func decimal() -> UInt32? {
            let start = index
            var value: UInt32 = 0
            while index < bytes.count, case let digit = bytes[index], (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(digit) {
                let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times10.addingReportingOverflow(UInt32(digit - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
                index += 1
            }
            guard index > start, bytes[start] != UInt8(ascii: "0") || index == start + 1 else { return nil }
            return value
        }

        /// Consumes unpadded standard base64 and returns how many bytes it decodes to. Rejects
        /// lengths that are 1 mod 4 and nonzero unused bits, so each value has one spelling.
        mutating func base64ByteCount() -> Int? {
            let start = index
            var last: UInt8 = 0
            while index < bytes.count, let value = Self.base64Value(bytes[index]) {
                last = value
                index += 1
            }
            let count = index - start
            switch count % 4 {
            case 1: return nil
            case 2: guard last & 0x0F == 0 else { return nil }
            case 3: guard last & 0x03 == 0 else { return nil }
            default: break
            }
            return count * 3 / 4
        }

        static func base64Value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): c - UInt8(ascii: "A")
            case UInt8(ascii: "a")...UInt8(ascii: "z"): c - UInt8(ascii: "a") + 26
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0") + 52
            case UInt8(ascii: "+"): 62
            case UInt8(ascii: "/"): 63
            default: nil
            }
        }
    }
}
