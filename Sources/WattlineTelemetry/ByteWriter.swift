/// Appends the block format's primitives: bytes, LEB128 varints, zigzag varints and
/// little-endian bit fields (least significant bit first).
struct ByteWriter {
    private(set) var bytes: [UInt8] = []
    private var pendingBits: UInt64 = 0
    private var pendingBitCount = 0

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func byte(_ value: UInt8) { bytes.append(value) }

    mutating func append(_ other: [UInt8]) { bytes.append(contentsOf: other) }

    mutating func varint(_ value: UInt64) {
        var rest = value
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
    }

    mutating func signedVarint(_ value: Int64) { varint(zigzag(value)) }

    /// Appends the low `bitCount` (0...64) bits of `value`, whose higher bits must be zero.
    mutating func bits(_ value: UInt64, count bitCount: Int) {
        guard bitCount > 0 else { return }
        pendingBits |= value << UInt64(pendingBitCount)
        let total = pendingBitCount + bitCount
        if total >= 64 {
            withUnsafeBytes(of: pendingBits.littleEndian) { bytes.append(contentsOf: $0) }
            // `>>` by 64 is 0 in Swift: nothing carries over when the field started on a word boundary.
            pendingBits = value >> UInt64(64 - pendingBitCount)
            pendingBitCount = total - 64
        } else {
            pendingBitCount = total
        }
    }

    /// Pads the bit field with zeros to a whole byte.
    mutating func alignToByte() {
        var rest = pendingBits
        for _ in 0..<((pendingBitCount + 7) / 8) {
            bytes.append(UInt8(truncatingIfNeeded: rest))
            rest >>= 8
        }
        pendingBits = 0
        pendingBitCount = 0
    }
}

func zigzag(_ value: Int64) -> UInt64 { UInt64(bitPattern: (value << 1) ^ (value >> 63)) }
func unzigzag(_ value: UInt64) -> Int64 { Int64(bitPattern: value >> 1) ^ -Int64(bitPattern: value & 1) }

func varintByteCount(_ value: UInt64) -> Int { max(1, (64 - value.leadingZeroBitCount + 6) / 7) }
