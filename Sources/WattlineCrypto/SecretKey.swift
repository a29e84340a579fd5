import COpenSSL

/// A 256-bit symmetric key in memory this object owns and wipes (OPENSSL_cleanse) on deinit.
///
/// Immutable after initialisation, hence `Sendable`. It never prints its bytes: `description`,
/// `debugDescription` and reflection all show `SecretKey(redacted)`. Copies made by callers
/// through `withUnsafeBytes` are theirs to wipe.
public final class SecretKey: @unchecked Sendable {
    public static let byteCount = 32

    private let storage: UnsafeMutableRawPointer

    /// Fills fresh storage through `fill`; the storage is wiped and freed if `fill` throws.
    package init(unsafeUninitialized fill: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        let storage = UnsafeMutableRawPointer.allocate(byteCount: Self.byteCount, alignment: 16)
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: Self.byteCount)
        do {
            try fill(UnsafeMutableRawBufferPointer(start: storage, count: Self.byteCount))
        } catch {
            OPENSSL_cleanse(storage, Self.byteCount)
            storage.deallocate()
            throw error
        }
        self.storage = storage
    }

    /// Copies exactly 32 bytes; the caller remains responsible for wiping `bytes`.
    public convenience init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else {
            throw CryptoError(.invalidInput, "a secret key must be \(Self.byteCount) bytes, got \(bytes.count)")
        }
        self.init { $0.copyBytes(from: bytes) }
    }

    /// A fresh key from OpenSSL's CSPRNG.
    public static func random() throws -> SecretKey {
        try SecretKey { buffer in
            try checkOpenSSL(RAND_bytes(buffer.baseAddress!, Int32(buffer.count)), "RAND_bytes")
        }
    }

    deinit {
        OPENSSL_cleanse(storage, Self.byteCount)
        storage.deallocate()
    }

    /// Lends the 32 key bytes; do not let the pointer escape.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage, count: Self.byteCount))
    }
}

extension SecretKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String { "SecretKey(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .class) }
}
