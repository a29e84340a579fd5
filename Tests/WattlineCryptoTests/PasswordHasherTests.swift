import Testing
import WattlineCrypto

@Suite struct PasswordHasherTests {
    /// Tiny costs keep the suite fast; the algorithm and code paths are the same.
    static let small = PasswordHasher.Parameters(memoryKiB: 256, iterations: 1, parallelism: 1)
    let hasher = try! PasswordHasher(parameters: small)

    // MARK: Known answers

    /// From the reference implementation's test suite (src/test.c, argon2id, v=19).
    static let reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"

    @Test func encodesTheReferenceVector() throws {
        let hasher = try PasswordHasher(parameters: .init(memoryKiB: 65_536, iterations: 2, parallelism: 1))
        #expect(try hasher.hash("password", salt: Array("somesalt".utf8)) == Self.reference)
    }

    @Test func verifiesTheReferenceVector() {
        // Its 8-byte salt is shorter than ours, so a login with it asks for a rehash.
        #expect(hasher.verify("password", against: Self.reference) == .valid(needsRehash: true))
        #expect(hasher.verify("passwore", against: Self.reference) == .invalid)
    }

    /// RFC 9106 §5.3 (argon2id with secret and associated data, which PHC strings cannot carry).
    @Test func rfc9106Vector() throws {
        let tag = try PasswordHasher.argon2idTag(
            password: [UInt8](repeating: 0x01, count: 32), salt: [UInt8](repeating: 0x02, count: 16),
            secret: [UInt8](repeating: 0x03, count: 8), associatedData: [UInt8](repeating: 0x04, count: 12),
            parameters: .init(memoryKiB: 32, iterations: 3, parallelism: 4), tagByteCount: 32)
        #expect(tag == hex("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"))
    }

    // MARK: Round trip

    @Test func roundTrip() throws {
        let phc = try hasher.hash("correct horse battery staple")
        let prefix = "$argon2id$v=19$m=256,t=1,p=1$"
        #expect(phc.hasPrefix(prefix))
        let fields = phc.dropFirst(prefix.count).split(separator: "$", omittingEmptySubsequences: false)
        #expect(fields.map(\.count) == [22, 43])  // 16-byte salt, 32-byte hash
        #expect(hasher.verify("correct horse battery staple", against: phc) == .valid(needsRehash: false))
        #expect(try hasher.hash("correct horse battery staple") != phc)  // fresh salt each time
    }

    @Test func defaultParameters() throws {
        let hasher = PasswordHasher()
        #expect(hasher.parameters == .default)
        #expect(PasswordHasher.Parameters.default.memoryKiB >= PasswordHasher.Parameters.owaspMinimum.memoryKiB)
        #expect(PasswordHasher.Parameters.default.iterations >= PasswordHasher.Parameters.owaspMinimum.iterations)
        let phc = try hasher.hash("pässwörd")
        #expect(phc.hasPrefix("$argon2id$v=19$m=47104,t=2,p=1$"))
        #expect(hasher.verify("pässwörd", against: phc) == .valid(needsRehash: false))
    }

    @Test func wrongPasswordsAreInvalid() throws {
        let phc = try hasher.hash("secret")
        for wrong in ["Secret", "secret ", "secre", "", "secret\u{0}", "secret\u{0}x"] {
            #expect(hasher.verify(wrong, against: phc) == .invalid, "\(wrong.debugDescription)")
        }
        // Bytes after a NUL count: the password goes to C with its length, not as a C string.
        let withNUL = try hasher.hash("a\u{0}b")
        #expect(hasher.verify("a\u{0}b", against: withNUL).isValid)
        #expect(hasher.verify("a", against: withNUL) == .invalid)
        #expect(hasher.verify("", against: try hasher.hash("")).isValid)
    }

    /// Nothing is normalised here: NFC "é" and NFD "e + U+0301" are different passwords, though
    /// Swift's `==` calls them equal. The identity service normalises to NFC first.
    @Test func noUnicodeNormalisation() throws {
        let precomposed = "caf\u{E9}"
        let decomposed = "cafe\u{301}"
        #expect(precomposed == decomposed)
        let phc = try hasher.hash(precomposed)
        #expect(hasher.verify(precomposed, against: phc).isValid)
        #expect(hasher.verify(decomposed, against: phc) == .invalid)
    }

    // MARK: Rehash on login

    @Test func rehashWhenTheParametersRise() throws {
        let phc = try hasher.hash("pw")
        func verification(_ m: UInt32, _ t: UInt32, _ p: UInt32) throws -> PasswordHasher.Verification {
            try PasswordHasher(parameters: .init(memoryKiB: m, iterations: t, parallelism: p)).verify("pw", against: phc)
        }
        #expect(try verification(256, 1, 1) == .valid(needsRehash: false))
        #expect(try verification(512, 1, 1) == .valid(needsRehash: true))  // more memory
        #expect(try verification(256, 2, 1) == .valid(needsRehash: true))  // more passes
        #expect(try verification(256, 1, 2) == .valid(needsRehash: false))  // lanes: not a strength
        #expect(try verification(128, 1, 1) == .valid(needsRehash: false))  // lowered: keep the stronger hash
    }

    // MARK: Malformed stored strings

    @Test func truncatedStringsAreInvalid() throws {
        let phc = try hasher.hash("pw")
        for end in phc.indices {
            let truncated = String(phc[..<end])
            #expect(hasher.verify("pw", against: truncated) == .invalid, "\(truncated)")
        }
    }

    /// Each is refused by the parser, so libargon2 never sees it (no allocation, no work).
    @Test(arguments: [
        "",
        "$argon2i$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$wWKIMhR9lyDFvRz9YTZweHKfbftvj+qf+YFY4NeBbtA",  // argon2i, correct hash
        "$argon2d$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$ARGON2ID$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // no version: 0x10
        "$argon2id$v=16$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=4294967295,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // 4 TiB
        "$argon2id$v=19$m=4294967296,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // 2^32
        "$argon2id$v=19$m=4295032832,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // 2^32 + 65536
        "$argon2id$v=19$m=1048577,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // 1 GiB + 1 KiB
        "$argon2id$v=19$m=65536,t=4294967295,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=0,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=16777215$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // threads
        "$argon2id$v=19$m=65536,t=2,p=0$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=4,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // below 8 blocks/lane
        "$argon2id$v=19$m=065536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // leading zero
        "$argon2id$v=19$m=+65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$t=2,m=65536,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // order
        "$argon2id$v=19$m=65536,t=2,p=1,keyid=AAAA$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29t*ZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // not base64
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ=$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // padding
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHR$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // stray bits
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPd",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPP",  // 42 characters: stray bits
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNh$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",  // 6-byte salt
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMa",  // 12-byte hash
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\n",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc\u{0}",
        " $argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc$",
        "$argon2id$v=19$m=65536,t=2,p=1$" + String(repeating: "A", count: 300) + "$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc",
        "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",  // bcrypt
    ])
    func malformedStringsAreInvalid(phc: String) {
        #expect(Argon2PHC(phc) == nil)
        let clock = ContinuousClock()
        let start = clock.now
        #expect(hasher.verify("password", against: phc) == .invalid)
        #expect(clock.now - start < .milliseconds(50))  // m=65536 would take ~100 ms
    }

    @Test func parserReadsWhatItAccepts() throws {
        let parsed = try #require(Argon2PHC(Self.reference))
        #expect(parsed.parameters == .init(memoryKiB: 65_536, iterations: 2, parallelism: 1))
        #expect(parsed.saltByteCount == 8)
        #expect(parsed.hashByteCount == 32)
        let limit = try #require(Argon2PHC(
            "$argon2id$v=19$m=1048576,t=16,p=16$" + String(repeating: "A", count: 86) + "$" + String(repeating: "A", count: 86)))
        #expect(limit.parameters == .init(memoryKiB: 1 << 20, iterations: 16, parallelism: 16))
        #expect(limit.saltByteCount == 64 && limit.hashByteCount == 64)
    }

    // MARK: Bounds

    @Test func overLongPasswordsAreRefused() throws {
        let longest = String(repeating: "a", count: PasswordHasher.maximumPasswordByteCount)
        let phc = try hasher.hash(longest)
        #expect(hasher.verify(longest, against: phc).isValid)
        // The bound is in bytes of UTF-8: 513 × "é" is 1,026 bytes.
        for tooLong in [longest + "a", String(repeating: "\u{E9}", count: 513)] {
            #expect(cryptoError { _ = try hasher.hash(tooLong) }?.code == .invalidInput)
            #expect(hasher.verify(tooLong, against: phc) == .invalid)
        }
    }

    @Test(arguments: [
        PasswordHasher.Parameters(memoryKiB: (1 << 20) + 1, iterations: 1, parallelism: 1),
        PasswordHasher.Parameters(memoryKiB: 256, iterations: 0, parallelism: 1),
        PasswordHasher.Parameters(memoryKiB: 256, iterations: 17, parallelism: 1),
        PasswordHasher.Parameters(memoryKiB: 256, iterations: 1, parallelism: 0),
        PasswordHasher.Parameters(memoryKiB: 256, iterations: 1, parallelism: 17),
        PasswordHasher.Parameters(memoryKiB: 15, iterations: 1, parallelism: 2),
    ])
    func parametersOutOfBoundsAreRefused(parameters: PasswordHasher.Parameters) {
        #expect(cryptoError { _ = try PasswordHasher(parameters: parameters) }?.code == .invalidInput)
    }

    // MARK: Timing equalisation

    /// An unknown account (`dummyVerify`) must cost what a wrong password costs: the median of
    /// the ratios of adjacent runs (alternating which goes first, so that load on the machine hits
    /// both alike) within ±25%. A busy machine can still skew one round, so up to three rounds
    /// are measured; a real difference (say a dummy that skipped argon2) fails all three.
    @Test func dummyVerifyCostsWhatAFailedVerifyCosts() throws {
        let hasher = try PasswordHasher(parameters: .init(memoryKiB: 8192, iterations: 1, parallelism: 1))
        let phc = try hasher.hash("the real password")
        let clock = ContinuousClock()
        func failedOverDummy() -> Double {
            var ratios: [Double] = []
            for round in 0..<11 {
                var failed = Duration.zero
                var dummy = Duration.zero
                for step in [round % 2, 1 - round % 2] {
                    if step == 0 {
                        failed = clock.measure { _ = hasher.verify("a wrong password", against: phc) }
                    } else {
                        dummy = clock.measure { hasher.dummyVerify("a wrong password") }
                    }
                }
                ratios.append(failed / dummy)
            }
            return ratios.sorted()[ratios.count / 2]
        }
        #expect(hasher.verify("a wrong password", against: phc) == .invalid)
        var ratios: [Double] = []
        for _ in 0..<3 {
            ratios.append(failedOverDummy())
            if (0.75...1.25).contains(ratios.last!) { break }
        }
        #expect((0.75...1.25).contains(ratios.last!), "failed verify / dummy verify, per round: \(ratios)")
    }
}
