import Testing
import WattlineCrypto

@Suite struct SecretKeyTests {
    @Test func lengthIsValidated() {
        for count in [0, 16, 31, 33, 64] {
            #expect(cryptoError { _ = try SecretKey(bytes: [UInt8](repeating: 1, count: count)) }?.code == .invalidInput)
        }
        #expect(throws: Never.self) { try SecretKey(bytes: [UInt8](repeating: 1, count: 32)) }
    }

    @Test func neverPrintsItsBytes() throws {
        let key = try SecretKey(bytes: [UInt8](repeating: 0xAB, count: 32))
        #expect("\(key)" == "SecretKey(redacted)")
        #expect(String(reflecting: key) == "SecretKey(redacted)")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.lowercased().contains("ab, 171") && !dumped.contains("171"))
    }

    @Test func randomKeysDiffer() throws {
        #expect(bytes(of: try .random()) != bytes(of: try .random()))
    }

    @Test func deriveIsHKDFWithDistinctLabels() throws {
        let root = try SecretKey.random()
        let aead = try root.derive(label: "aead")
        let index = try root.derive(label: "blind-index")
        #expect(bytes(of: aead) != bytes(of: index))
        #expect(bytes(of: aead) != bytes(of: root))
        #expect(bytes(of: try root.derive(label: "aead")) == bytes(of: aead))
        #expect(bytes(of: aead) == (try hkdfSHA256(key: bytes(of: root), salt: [], info: Array("wattline-derive-v1:aead".utf8), outputByteCount: 32)))
        #expect(cryptoError { _ = try root.derive(label: "") }?.code == .invalidInput)
    }

    @Test func blindIndexIsKeyedHMAC() throws {
        let key = try SecretKey.random()
        let index = BlindIndex(key: key)
        let email = Array("ops@example.com".utf8)
        let tag = try index.index(email)
        #expect(tag.count == 32)
        #expect(try index.index(email) == tag)
        #expect(try index.index(Array("ops@example.org".utf8)) != tag)
        #expect(try BlindIndex(key: .random()).index(email) != tag)
        #expect(tag == (try hmacSHA256(key: bytes(of: key), message: email)))
    }

    @Test func constantTimeEquals() {
        #expect(ConstantTime.equals([1, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2, 4]))
        #expect(!ConstantTime.equals([9, 2, 3], [1, 2, 3]))
        #expect(!ConstantTime.equals([1, 2, 3], [1, 2]))
        #expect(ConstantTime.equals([], []))
        #expect(!ConstantTime.equals([], [0]))
    }
}

@Suite struct KeyWrapperTests {
    @Test func wrapUnwrapRoundTrip() throws {
        let wrapper = KeyWrapper(masterKey: try .random(), masterKeyID: "mk-2025-01")
        let dek = try SecretKey.random()
        let wrapped = try wrapper.wrap(dek, keyID: "tenant-42/dek-1")
        #expect(wrapped.count == 32 + AEAD.overhead)
        #expect(bytes(of: try wrapper.unwrap(wrapped, keyID: "tenant-42/dek-1")) == bytes(of: dek))
    }

    @Test func bindingToIDsAndMasterKey() throws {
        let master = try SecretKey.random()
        let wrapper = KeyWrapper(masterKey: master, masterKeyID: "mk-1")
        let wrapped = try wrapper.wrap(try .random(), keyID: "dek-1")
        #expect(cryptoError { _ = try wrapper.unwrap(wrapped, keyID: "dek-2") }?.code == .authenticationFailed)
        #expect(cryptoError { _ = try KeyWrapper(masterKey: master, masterKeyID: "mk-2").unwrap(wrapped, keyID: "dek-1") }?.code == .authenticationFailed)
        #expect(cryptoError { _ = try KeyWrapper(masterKey: .random(), masterKeyID: "mk-1").unwrap(wrapped, keyID: "dek-1") }?.code == .authenticationFailed)
        #expect(cryptoError { _ = try wrapper.unwrap(Array(wrapped.dropLast()), keyID: "dek-1") }?.code == .invalidInput)
        // ID boundaries are length-prefixed too: ("mk-1", "dek-1") ≠ ("mk-1d", "ek-1").
        #expect(cryptoError { _ = try KeyWrapper(masterKey: master, masterKeyID: "mk-1d").unwrap(wrapped, keyID: "ek-1") }?.code == .authenticationFailed)
    }

    @Test func masterKeyRotationRewrapsWithoutTouchingData() throws {
        let old = KeyWrapper(masterKey: try .random(), masterKeyID: "mk-1")
        let new = KeyWrapper(masterKey: try .random(), masterKeyID: "mk-2")
        let dek = try SecretKey.random()
        let ad = try AssociatedData(tenant: tenantA, table: "sites", column: "name", row: [1]).bytes
        let sealedData = try AEAD.seal(Array("North plant".utf8), key: dek, associatedData: ad)

        let wrappedOld = try old.wrap(dek, keyID: "dek-1")
        let wrappedNew = try old.rewrap(wrappedOld, keyID: "dek-1", to: new)
        #expect(wrappedNew != wrappedOld)
        let recovered = try new.unwrap(wrappedNew, keyID: "dek-1")
        #expect(try AEAD.open(sealedData, key: recovered, associatedData: ad) == Array("North plant".utf8))
        #expect(cryptoError { _ = try old.unwrap(wrappedNew, keyID: "dek-1") }?.code == .authenticationFailed)
    }
}
