/// A 16-byte UUID as the lowercase text that tokens, grants and the store use.
struct UUIDText: Hashable {
    let text: String

    /// Nil unless exactly 16 bytes.
    init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        let digits = Array("0123456789abcdef".utf8)
        text = String(unsafeUninitializedCapacity: 36) { out in
            var at = 0
            for (index, byte) in bytes.enumerated() {
                if index == 4 || index == 6 || index == 8 || index == 10 {
                    out[at] = UInt8(ascii: "-")
                    at += 1
                }
                out[at] = digits[Int(byte >> 4)]
                out[at + 1] = digits[Int(byte & 0x0f)]
                at += 2
            }
            return at
        }
    }
}
