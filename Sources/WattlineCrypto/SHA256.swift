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
