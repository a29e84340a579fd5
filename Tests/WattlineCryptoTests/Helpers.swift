import Testing
import WattlineCrypto

func hex(_ string: String) -> [UInt8] {
    let digits = Array(string.utf8)
    precondition(digits.count % 2 == 0)
    return stride(from: 0, to: digits.count, by: 2).map { UInt8(String(decoding: digits[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

func bytes(of key: SecretKey) -> [UInt8] {
    key.withUnsafeBytes { Array($0) }
}

/// Deterministic filler so failures are reproducible.
func pattern(_ count: Int) -> [UInt8] {
    (0..<count).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
}

/// Runs `body` and returns the CryptoError it throws, recording an issue if it throws nothing
/// or something else.
func cryptoError(_ body: () throws -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> CryptoError? {
    do {
        try body()
        Issue.record("expected a CryptoError, nothing was thrown", sourceLocation: sourceLocation)
    } catch let error as CryptoError {
        return error
    } catch {
        Issue.record("expected a CryptoError, got \(error)", sourceLocation: sourceLocation)
    }
    return nil
}

let tenantA: [UInt8] = hex("0f8fad5bd9cb469fa16570867728950e")
let tenantB: [UInt8] = hex("1f8fad5bd9cb469fa16570867728950e")
