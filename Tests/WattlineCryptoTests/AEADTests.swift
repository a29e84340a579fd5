import Testing
import WattlineCrypto

@Suite struct AEADTests {
    let key = try! SecretKey.random()
    let ad = try! AssociatedData(tenant: tenantA, table: "sites", column: "address", row: hex("00000000000004d2")).bytes

    @Test(arguments: [0, 1, 15, 16, 17, 8 * 1024, 1 << 20])
    func roundTrip(size: Int) throws {
        let plaintext = pattern(size)
        let sealed = try AEAD.seal(plaintext, key: key, associatedData: ad)
        #expect(sealed.count == size + AEAD.overhead)
        #expect(sealed[0] == 0x01)
        if size >= 16 { #expect(Array(sealed[13..<29]) != Array(plaintext[0..<16])) }
        #expect(try AEAD.open(sealed, key: key, associatedData: ad) == plaintext)
    }

    @Test func bufferAPIAndContextReuse() throws {
        let context = try AEAD.Context(key: key)
        var output = [UInt8](repeating: 0, count: 8192 + AEAD.overhead)
        var opened = [UInt8](repeating: 0, count: 8192)
        for size in [8192, 0, 100, 8192] {
            let plaintext = pattern(size)
            let written = try plaintext.withUnsafeBytes { p in
                try ad.withUnsafeBytes { a in try output.withUnsafeMutableBytes { try context.seal(p, associatedData: a, into: $0) } }
            }
            #expect(written == size + AEAD.overhead)
            // The static API opens what the reused context sealed, and vice versa.
            #expect(try AEAD.open(Array(output[..<written]), key: key, associatedData: ad) == plaintext)
            let count = try output.withUnsafeBytes { s in
                try ad.withUnsafeBytes { a in
                    try opened.withUnsafeMutableBytes { try context.open(UnsafeRawBufferPointer(rebasing: s[..<written]), associatedData: a, into: $0) }
                }
            }
            #expect(Array(opened[..<count]) == plaintext)
        }
    }

    @Test func outputBufferTooSmallIsInvalidInput() throws {
        var output = [UInt8](repeating: 0, count: 10 + AEAD.overhead - 1)
        let error = cryptoError {
            _ = try pattern(10).withUnsafeBytes { p in
                try ad.withUnsafeBytes { a in try output.withUnsafeMutableBytes { try AEAD.seal(p, key: key, associatedData: a, into: $0) } }
            }
        }
        #expect(error?.code == .invalidInput)
    }

    /// Flip one bit in every byte position: version → invalidInput; nonce, ciphertext, tag → authenticationFailed.
    @Test func everyTamperedByteIsRejected() throws {
        let plaintext = pattern(40)
        let sealed = try AEAD.seal(plaintext, key: key, associatedData: ad)
        for position in sealed.indices {
            for bit in [0, 7] {
                var tampered = sealed
                tampered[position] ^= 1 << bit
                let error = cryptoError { _ = try AEAD.open(tampered, key: key, associatedData: ad) }
                let expected: CryptoError.Code = position == 0 ? .invalidInput : .authenticationFailed
                #expect(error?.code == expected, "position \(position) bit \(bit)")
            }
        }
        #expect(cryptoError { _ = try AEAD.open(sealed + [0], key: key, associatedData: ad) }?.code == .authenticationFailed)
        #expect(cryptoError { _ = try AEAD.open(Array(sealed.dropLast()), key: key, associatedData: ad) }?.code == .authenticationFailed)
    }

    @Test func wrongKeyFails() throws {
        let sealed = try AEAD.seal(pattern(64), key: key, associatedData: ad)
        let error = cryptoError { _ = try AEAD.open(sealed, key: try SecretKey.random(), associatedData: ad) }
        #expect(error?.code == .authenticationFailed)
    }

    @Test func truncatedInputIsInvalidInputNeverACrash() throws {
        let sealed = try AEAD.seal(pattern(3), key: key, associatedData: ad)
        for length in 0..<AEAD.overhead {
            let error = cryptoError { _ = try AEAD.open(Array(sealed.prefix(length)), key: key, associatedData: ad) }
            #expect(error?.code == .invalidInput, "length \(length)")
        }
        // Exactly the minimum with a valid version byte parses, then fails authentication.
        let minimal = [AEAD.version] + [UInt8](repeating: 0xA5, count: AEAD.overhead - 1)
        #expect(cryptoError { _ = try AEAD.open(minimal, key: key, associatedData: ad) }?.code == .authenticationFailed)
    }

    @Test func noncesDifferBetweenSealsOfTheSamePlaintext() throws {
        let plaintext = pattern(32)
        let nonces = try (0..<64).map { _ in Array(try AEAD.seal(plaintext, key: key, associatedData: ad)[1..<13]) }
        #expect(Set(nonces.map { $0.description }).count == nonces.count)
    }

    @Test func concurrentUseOfStaticAPI() async throws {
        let key = self.key, ad = self.ad
        try await withThrowingTaskGroup(of: Bool.self) { group in
            for task in 0..<8 {
                group.addTask {
                    for i in 0..<200 {
                        let plaintext = pattern(task * 100 + i)
                        guard try AEAD.open(AEAD.seal(plaintext, key: key, associatedData: ad), key: key, associatedData: ad) == plaintext
                        else { return false }
                    }
                    return true
                }
            }
            for try await ok in group { #expect(ok) }
        }
    }
}
