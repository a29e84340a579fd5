import Foundation

extension UUID {
    /// The 16 bytes, as the contracts carry ids.
    public var bytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }
    /// Lowercase text, as tokens, grants, certificates and the store write ids.
    public var lowercased: String { uuidString.lowercased() }

    /// Nil unless exactly 16 bytes.
    public init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// RFC 9562 UUIDv7: 48-bit milliseconds since the epoch, version, random. New ids sort by
    /// creation time, which keeps the store's indexes compact.
    public static func v7(now: Int64 = Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down))) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = generator.next() }
        let ms = UInt64(max(0, now))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - index))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(bytes: bytes)!
    }
}
