import COpenSSL
import Glibc
import Synchronization

/// Bumped in the child process after fork(), so nonce pools copied into a child are discarded
/// rather than reused by two processes under the same key.
package let forkGeneration = Atomic<UInt64>(0)
package let forkHandlerInstalled: Bool = pthread_atfork(nil, nil, { forkGeneration.add(1, ordering: .relaxed) }) == 0

/// Random 96-bit GCM nonces for one `AEAD.Context`.
///
/// In OpenSSL 3.0 each `RAND_bytes` call costs ~0.7 µs whatever its size (the CTR-DRBG re-keys
/// after every request), a third of the time to seal 8 KiB. So a reused context draws nonces in
/// batches; each is still 96 fresh CSPRNG bits, used once, so the SP 800-38D random-nonce bound
/// is unchanged. The first nonce is drawn alone, so one-shot contexts (the static `AEAD` API)
/// never pay for a batch. A fork resets the pool (see `forkGeneration`).
package struct NonceSource {
    static let batch = 128
    private var pool: [UInt8] = []
    private var offset = 0
    private var generation: UInt64 = 0
    private var drawn = 0

    package init() {}

    package mutating func next(into nonce: UnsafeMutableRawPointer) throws {
        let size = AEAD.nonceByteCount
        drawn += 1
        guard drawn > 1, forkHandlerInstalled else {
            try checkOpenSSL(RAND_bytes(nonce.assumingMemoryBound(to: UInt8.self), Int32(size)), "RAND_bytes")
            return
        }
        let current = forkGeneration.load(ordering: .relaxed)
        if offset == pool.count || generation != current {
            if pool.isEmpty { pool = [UInt8](repeating: 0, count: Self.batch * size) }
            try checkOpenSSL(RAND_bytes(&pool, Int32(pool.count)), "RAND_bytes")
            offset = 0
            generation = current
        }
        pool.withUnsafeBytes { nonce.copyMemory(from: $0.baseAddress! + offset, byteCount: size) }
        offset += size
    }
}
