/// Canonical framing shared by associated-data encodings: a fixed ASCII label, then each part
/// as a UInt32 big-endian length followed by its bytes. Length prefixes make the encoding
/// injective, so ("ab", "c") and ("a", "bc") can never collide.
struct LengthPrefixed {
    private(set) var bytes: [UInt8]

    init(label: String, capacity: Int = 64) {
        bytes = []
        bytes.reserveCapacity(label.utf8.count + capacity)
        bytes.append(contentsOf: label.utf8)
    }

    mutating func append(_ part: some Collection<UInt8>) throws {
        guard let length = UInt32(exactly: part.count) else {
            throw CryptoError(.invalidInput, "associated-data part of \(part.count) bytes exceeds UInt32")
        }
        withUnsafeBytes(of: length.bigEndian) { bytes.append(contentsOf: $0) }
        bytes.append(contentsOf: part)
    }
}
