import COpenSSL

/// A fetched libcrypto algorithm. Fetched objects are immutable and reference-counted by OpenSSL,
/// so sharing one across threads is safe; fetching once avoids the implicit per-call fetch (and
/// its method-store lock) that `EVP_aes_256_gcm()` and friends incur in OpenSSL 3.
struct FetchedAlgorithm: @unchecked Sendable {
    let name: String
    private let pointer: OpaquePointer?

    init(name: String, _ pointer: OpaquePointer?) {
        self.name = name
        self.pointer = pointer
        if pointer == nil { ERR_clear_error() }  // reported on use, on the caller's thread
    }

    func get() throws -> OpaquePointer {
        guard let pointer else {
            throw CryptoError(.openssl, "\(name) is not available from the loaded OpenSSL providers")
        }
        return pointer
    }
}

// Process-lifetime singletons (Swift initialises globals once, thread-safely, on first use).
let aes256GCMCipher = FetchedAlgorithm(name: "AES-256-GCM", EVP_CIPHER_fetch(nil, "AES-256-GCM", nil))
let hmacAlgorithm = FetchedAlgorithm(name: "HMAC", EVP_MAC_fetch(nil, "HMAC", nil))
