import COpenSSL

extension AEAD {
    /// A reusable AES-256-GCM context bound to one key: the key schedule and GHASH tables are
    /// computed once, and each seal/open only sets a new nonce. Use it for bulk work under one key.
    ///
    /// Not `Sendable`: an `EVP_CIPHER_CTX` is mutable state, so use one context per task or thread.
    /// Nonces come from `RAND_bytes` in batches (see `NonceSource`).
    public final class Context {
        private let ctx: OpaquePointer
        private var nonces = NonceSource()

        public init(key: SecretKey) throws {
            let cipher = try aes256GCMCipher.get()
            guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError.openssl("EVP_CIPHER_CTX_new") }
            do {
                try key.withUnsafeBytes { key in
                    try checkOpenSSL(
                        EVP_CipherInit_ex2(ctx, cipher, key.baseAddress!.assumingMemoryBound(to: UInt8.self), nil, 1, nil),
                        "AES-256-GCM key setup")
                }
            } catch {
                EVP_CIPHER_CTX_free(ctx)
                throw error
            }
            self.ctx = ctx
        }

        deinit {
            EVP_CIPHER_CTX_free(ctx)  // the provider wipes its key schedule
        }

        public func seal(_ plaintext: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
            try plaintext.withUnsafeBytes { plaintext in
                try associatedData.withUnsafeBytes { associatedData in
                    try [UInt8](unsafeUninitializedCapacity: sealedByteCount(plaintextByteCount: plaintext.count)) {
                        buffer, count in
                        count = try seal(plaintext, associatedData: associatedData, into: UnsafeMutableRawBufferPointer(buffer))
                    }
                }
            }
        }

        /// See `AEAD.seal(_:key:associatedData:into:)`.
        public func seal(
            _ plaintext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
            into output: UnsafeMutableRawBufferPointer
        ) throws -> Int {
            try seal(plaintext, associatedData: associatedData, into: output, fixedNonce: nil)
        }

        func seal(
            _ plaintext: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
            into output: UnsafeMutableRawBufferPointer, fixedNonce: UnsafeRawPointer?
        ) throws -> Int {
            let total = sealedByteCount(plaintextByteCount: plaintext.count)
            guard output.count >= total, let out = output.baseAddress else {
                throw CryptoError(.invalidInput, "output buffer of \(output.count) bytes cannot hold \(total) sealed bytes")
            }
            out.storeBytes(of: version, as: UInt8.self)
            let nonce = out + 1
            if let fixedNonce {
                nonce.copyMemory(from: fixedNonce, byteCount: nonceByteCount)
            } else {
                try nonces.next(into: nonce)
            }
            // The version byte already sits in the output: authenticate it from there.
            try encrypt(
                nonce: nonce, aadParts: (UnsafeRawBufferPointer(start: out, count: 1), associatedData),
                plaintext: plaintext, ciphertext: out + 1 + nonceByteCount,
                tag: out + 1 + nonceByteCount + plaintext.count)
            return total
        }

        public func open(_ sealed: [UInt8], associatedData: [UInt8]) throws -> [UInt8] {
            try sealed.withUnsafeBytes { sealed in
                try associatedData.withUnsafeBytes { associatedData in
                    try [UInt8](unsafeUninitializedCapacity: max(sealed.count - overhead, 0)) { buffer, count in
                        count = try open(sealed, associatedData: associatedData, into: UnsafeMutableRawBufferPointer(buffer))
                    }
                }
            }
        }

        /// See `AEAD.open(_:key:associatedData:into:)`.
        public func open(
            _ sealed: UnsafeRawBufferPointer, associatedData: UnsafeRawBufferPointer,
            into output: UnsafeMutableRawBufferPointer
        ) throws -> Int {
            guard sealed.count >= overhead, let input = sealed.baseAddress else {
                throw CryptoError(.invalidInput, "sealed value of \(sealed.count) bytes is shorter than the \(overhead)-byte minimum")
            }
            let found = input.load(as: UInt8.self)
            guard found == version else {
                throw CryptoError(.invalidInput, "unsupported sealed-value version \(found) (expected \(version))")
            }
            let plaintextCount = sealed.count - overhead
            guard output.count >= plaintextCount else {
                throw CryptoError(.invalidInput, "output buffer of \(output.count) bytes cannot hold \(plaintextCount) plaintext bytes")
            }
            try decrypt(
                nonce: input + 1, aadParts: (UnsafeRawBufferPointer(start: input, count: 1), associatedData),
                ciphertext: UnsafeRawBufferPointer(start: input + 1 + nonceByteCount, count: plaintextCount),
                tag: input + 1 + nonceByteCount + plaintextCount, plaintext: output.baseAddress)
            return plaintextCount
        }

        // MARK: Raw GCM

        func encrypt(
            nonce: UnsafeRawPointer, aadParts: (UnsafeRawBufferPointer, UnsafeRawBufferPointer),
            plaintext: UnsafeRawBufferPointer, ciphertext: UnsafeMutableRawPointer?, tag: UnsafeMutableRawPointer
        ) throws {
            // Cipher and key NULL: keep the key schedule, only set the nonce.
            try checkOpenSSL(
                EVP_CipherInit_ex2(ctx, nil, nil, nonce.assumingMemoryBound(to: UInt8.self), 1, nil), "AES-256-GCM encrypt init")
            try update(aadParts.0, into: nil)
            try update(aadParts.1, into: nil)
            try update(plaintext, into: ciphertext)
            var written: Int32 = 0
            var scratch: (UInt64, UInt64) = (0, 0)  // GCM's final writes no bytes; give it a valid pointer anyway
            try withUnsafeMutableBytes(of: &scratch) { scratch in
                try checkOpenSSL(
                    EVP_CipherFinal_ex(ctx, scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), &written),
                    "AES-256-GCM encrypt final")
            }
            try checkOpenSSL(EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, Int32(tagByteCount), tag), "AES-256-GCM get tag")
        }

        /// On any failure the decrypted bytes already written are wiped before throwing.
        func decrypt(
            nonce: UnsafeRawPointer, aadParts: (UnsafeRawBufferPointer, UnsafeRawBufferPointer),
            ciphertext: UnsafeRawBufferPointer, tag: UnsafeRawPointer, plaintext: UnsafeMutableRawPointer?
        ) throws {
            do {
                try checkOpenSSL(
                    EVP_CipherInit_ex2(ctx, nil, nil, nonce.assumingMemoryBound(to: UInt8.self), 0, nil), "AES-256-GCM decrypt init")
                // SET_TAG takes a mutable pointer; hand it a copy rather than casting away const.
                var expected: (UInt64, UInt64) = (0, 0)
                withUnsafeMutableBytes(of: &expected) { $0.copyMemory(from: UnsafeRawBufferPointer(start: tag, count: tagByteCount)) }
                try checkOpenSSL(
                    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, Int32(tagByteCount), &expected), "AES-256-GCM set tag")
                try update(aadParts.0, into: nil)
                try update(aadParts.1, into: nil)
                try update(ciphertext, into: plaintext)
                var written: Int32 = 0
                var scratch: (UInt64, UInt64) = (0, 0)
                let verified = withUnsafeMutableBytes(of: &scratch) { scratch in
                    EVP_CipherFinal_ex(ctx, scratch.baseAddress!.assumingMemoryBound(to: UInt8.self), &written)
                }
                guard verified == 1 else {
                    ERR_clear_error()
                    throw CryptoError(
                        .authenticationFailed, "AES-256-GCM authentication failed (wrong key or associated data, or tampered value)")
                }
            } catch {
                if let plaintext, ciphertext.count > 0 { OPENSSL_cleanse(plaintext, ciphertext.count) }
                throw error
            }
        }

        /// Feeds `input` in chunks that fit OpenSSL's `int` lengths; `output` nil means AAD.
        private func update(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawPointer?) throws {
            guard var source = input.baseAddress, input.count > 0 else { return }
            var destination = output
            var remaining = input.count
            while remaining > 0 {
                let chunk = min(remaining, 1 << 30)
                var written: Int32 = 0
                try checkOpenSSL(
                    EVP_CipherUpdate(
                        ctx, destination?.assumingMemoryBound(to: UInt8.self), &written,
                        source.assumingMemoryBound(to: UInt8.self), Int32(chunk)),
                    output == nil ? "AES-256-GCM associated data" : "AES-256-GCM update")
                source += chunk
                destination = destination.map { $0 + chunk }
                remaining -= chunk
            }
        }
    }
}
