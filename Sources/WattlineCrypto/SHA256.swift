import COpenSSL

let sha256Digest = FetchedAlgorithm(name: "SHA-256", EVP_MD_fetch(nil, "SHA256", nil))

/// SHA-256 of `input` into the first 32 bytes of `output`, in one `EVP_Digest` call with the
/// fetched digest (no per-call implicit fetch).
package func sha256(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws {
    precondition(output.count >= 32, "SHA-256 output buffer must hold 32 bytes")
    let digest = try sha256Digest.get()
    var size: UInt32 = 0
    // A zero-length input still gets a valid pointer.
    var empty: UInt8 = 0
    try withUnsafeBytes(of: &empty) { empty in
        try checkOpenSSL(
            EVP_Digest(
                input.baseAddress ?? empty.baseAddress!, input.count,
                output.baseAddress!.assumingMemoryBound(to: UInt8.self), &size, digest, nil),
            "SHA-256")
    }
    guard size == 32 else { throw CryptoError(.openssl, "SHA-256 produced \(size) bytes") }
}

package func sha256(_ input: [UInt8]) throws -> [UInt8] {
    try input.withUnsafeBytes { input in
        try [UInt8](unsafeUninitializedCapacity: 32) { buffer, count in
            try sha256(input, into: UnsafeMutableRawBufferPointer(buffer))
            count = 32
        }
    }
}

/// SHA-256 of data that arrives in parts (a streamed export), without holding it whole.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() throws {
        guard let context = EVP_MD_CTX_new() else { throw CryptoError.openssl("EVP_MD_CTX_new") }
        self.context = context
        try checkOpenSSL(EVP_DigestInit_ex(context, try sha256Digest.get(), nil), "SHA-256 init")
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return }
            try checkOpenSSL(EVP_DigestUpdate(context, base, raw.count), "SHA-256 update")
        }
    }

    /// The digest of everything added (the hasher is done afterwards).
    public func finish() throws -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: 32)
        var size: UInt32 = 0
        try checkOpenSSL(EVP_DigestFinal_ex(context, &digest, &size), "SHA-256 final")
        return digest
    }
}
