/// Reads what `ByteWriter` wrote, checking every length against the bytes that are left: any
/// input, however hostile, ends in a value or a `.malformed` error, never a trap.
struct ByteReader {
    private let bytes: [UInt8]
    private(set) var offset: Int
    let end: Int
    private var bitOffset = 0  // bits already consumed of bytes[offset] while reading a bit field

    init(_ bytes: [UInt8], from start: Int = 0, to end: Int? = nil) {
        self.bytes = bytes
        self.offset = start
        self.end = end ?? bytes.count
    }

    var remaining: Int { end - offset }
    var isAtEnd: Bool { offset == end }

    mutating func byte(_ what: @autoclosure () -> String) throws -> UInt8 {
        guard offset < end else { throw TelemetryBlockError.malformed("truncated before \(what())") }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A canonical LEB128 varint of at most 10 bytes that fits in 64 bits.
    mutating func varint(_ what: @autoclosure () -> String) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            let byte = try self.byte(what())
            let payload = UInt64(byte & 0x7f)
            guard shift < 64, shift < 63 || payload <= 1 else { throw TelemetryBlockError.malformed("\(what()) overflows 64 bits") }
            result |= payload << shift
            if byte & 0x80 == 0 {
                guard byte != 0 || shift == 0 else { throw TelemetryBlockError.malformed("\(what()) is not minimally encoded") }
                return result
            }
            shift += 7
        }
    }

    mutating func signedVarint(_ what: @autoclosure () -> String) throws -> Int64 { unzigzag(try varint(what())) }

    /// A varint that must fit `0...limit`, as an Int (for counts).
    mutating func count(_ what: @autoclosure () -> String, atMost limit: Int) throws -> Int {
        let value = try varint(what())
        guard value <= UInt64(limit) else { throw TelemetryBlockError.malformed("\(what()) \(value) exceeds \(limit)") }
        return Int(value)
    }

    /// A varint byte length that the bytes after it must hold (checked after reading it).
    mutating func length(_ what: @autoclosure () -> String) throws -> Int {
        let value = try varint(what())
        guard value <= UInt64(remaining) else {
            throw TelemetryBlockError.malformed("\(what()) \(value) exceeds the \(remaining) bytes left")
        }
        return Int(value)
    }

    mutating func skip(_ byteCount: Int) { offset += byteCount }

    /// The next `bitCount` (0...64) bits of a bit field; the caller has checked that the field's
    /// bytes are all there (before `end`).
    mutating func bits(_ bitCount: Int) -> UInt64 {
        var result: UInt64 = 0
        var filled = 0
        while filled < bitCount {
            let available = 8 - bitOffset
            let take = min(available, bitCount - filled)
            let chunk = (UInt64(bytes[offset]) >> UInt64(bitOffset)) & ((1 << UInt64(take)) - 1)
            result |= chunk << UInt64(filled)
            filled += take
            bitOffset += take
            if bitOffset == 8 {
                bitOffset = 0
                offset += 1
            }
        }
        return result
    }

    /// Ends a bit field: the padding bits of its last byte must be zero (one encoding per block).
    mutating func alignToByte(_ what: @autoclosure () -> String) throws {
        guard bitOffset > 0 else { return }
        guard bytes[offset] >> UInt8(bitOffset) == 0 else { throw TelemetryBlockError.malformed("non-zero padding after \(what())") }
        bitOffset = 0
        offset += 1
    }
}
