/// Decodes exactly `output.count * 2` hex digits (either case) from `input` into `output`.
/// Error messages never echo the input: it is key material.
func decodeHex(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer, what: String) throws {
    guard input.count == output.count * 2 else {
        throw CryptoError(.invalidInput, "\(what) must be \(output.count * 2) hex characters, got \(input.count)")
    }
    func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
    for index in 0..<output.count {
        guard let high = nibble(input[2 * index]), let low = nibble(input[2 * index + 1]) else {
            throw CryptoError(.invalidInput, "\(what) contains a character that is not a hex digit")
        }
        output[index] = high << 4 | low
    }
}
