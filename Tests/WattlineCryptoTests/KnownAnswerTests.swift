import Testing
import WattlineCrypto

/// Published vectors, run through the same OpenSSL code paths the library uses.
@Suite struct KnownAnswerTests {
    // McGrew & Viega, "The Galois/Counter Mode of Operation", test case 16 (AES-256, 96-bit IV, AAD).
    let key = try! SecretKey(bytes: hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308"))
    let nonce = hex("cafebabefacedbaddecaf888")
    let plaintext = hex(
        "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39")
    let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2")
    let ciphertext = hex(
        "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662")
    let tag = hex("76fc6ece0f4e1768cddf8853bb2d551b")

    @Test func aes256GCMTestCase16() throws {
        let result = try AEAD.gcmEncrypt(key: key, nonce: nonce, associatedData: aad, plaintext: plaintext)
        #expect(result.ciphertext == ciphertext)
        #expect(result.tag == tag)
        #expect(try AEAD.gcmDecrypt(key: key, nonce: nonce, associatedData: aad, ciphertext: ciphertext, tag: tag) == plaintext)
        var badTag = tag
        badTag[15] ^= 1
        let error = cryptoError { _ = try AEAD.gcmDecrypt(key: key, nonce: nonce, associatedData: aad, ciphertext: ciphertext, tag: badTag) }
        #expect(error?.code == .authenticationFailed)
    }

    @Test func aes256GCMTestCase13EmptyPlaintext() throws {
        let zeroKey = try SecretKey(bytes: [UInt8](repeating: 0, count: 32))
        let result = try AEAD.gcmEncrypt(key: zeroKey, nonce: [UInt8](repeating: 0, count: 12), associatedData: [], plaintext: [])
        #expect(result.ciphertext.isEmpty)
        #expect(result.tag == hex("530f8afbc74536b9a963b4f1c4cb738b"))
    }

    /// The sealed format is version | nonce | GCM ciphertext | GCM tag over (version ‖ associated data).
    @Test func sealedLayoutAuthenticatesTheVersionByte() throws {
        let sealed = try AEAD.sealDeterministic(plaintext, key: key, nonce: nonce, associatedData: aad)
        #expect(sealed[0] == 0x01)
        #expect(Array(sealed[1..<13]) == nonce)
        #expect(Array(sealed[13..<(13 + plaintext.count)]) == ciphertext)
        let expectedTag = try AEAD.gcmEncrypt(key: key, nonce: nonce, associatedData: [0x01] + aad, plaintext: plaintext).tag
        #expect(Array(sealed.suffix(16)) == expectedTag)
        #expect(expectedTag != tag)
        #expect(try AEAD.open(sealed, key: key, associatedData: aad) == plaintext)
    }

    @Test func hmacSHA256RFC4231() throws {
        #expect(try hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
            == hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"))  // test case 2
        #expect(try hmacSHA256(key: [UInt8](repeating: 0x0b, count: 20), message: Array("Hi There".utf8))
            == hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"))  // test case 1
    }

    @Test func hkdfSHA256RFC5869() throws {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        #expect(try hkdfSHA256(key: ikm, salt: hex("000102030405060708090a0b0c"), info: hex("f0f1f2f3f4f5f6f7f8f9"), outputByteCount: 42)
            == hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"))  // test case 1
        #expect(try hkdfSHA256(key: ikm, salt: [], info: [], outputByteCount: 42)
            == hex("8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8"))  // test case 3
    }
}
