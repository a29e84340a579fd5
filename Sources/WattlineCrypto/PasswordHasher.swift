import CArgon2
import COpenSSL

/// argon2id password hashing (RFC 9106) through libargon2, stored as a PHC string:
///
///     $argon2id$v=19$m=47104,t=2,p=1$<16-byte salt, base64>$<32-byte hash, base64>
///
/// The password is hashed as the exact UTF-8 bytes given: nothing is normalised here. The
/// identity service must apply Unicode NFC before calling `hash` and `verify` (docs/identity.md),
/// so that "é" typed precomposed on one keyboard and decomposed on another is one password.
///
/// Hashing and verifying are CPU- and memory-bound for tens of milliseconds (`parameters`): call
/// them off the event loop, with bounded concurrency (each call holds `memoryKiB` of memory).
public struct PasswordHasher: Sendable {
    /// Longer passwords are refused. The contract allows 256 characters, at most 1,024 bytes of
    /// UTF-8; the bound keeps a hostile request from having megabytes copied and hashed.
    public static let maximumPasswordByteCount = 1024
    public static let saltByteCount = 16
    public static let hashByteCount = 32

    public let parameters: Parameters
    /// A well-formed string with the current parameters that no password matches: its hash is
    /// all zero bytes, which finding a preimage for would break argon2id itself.
    private let dummy: String

    public init() {
        self.init(validated: .default)
    }

    /// Throws `.invalidInput` for parameters outside libargon2's floors or `Parameters`' ceilings.
    /// Below `Parameters.owaspMinimum` is allowed (tests use tiny costs) but not for production.
    public init(parameters: Parameters) throws(CryptoError) {
        guard parameters.isWithinBounds else {
            throw CryptoError(.invalidInput, "argon2id parameters \(parameters) are outside the supported bounds")
        }
        self.init(validated: parameters)
    }

    private init(validated parameters: Parameters) {
        self.parameters = parameters
        // 22 and 43 "A"s are 16 and 32 zero bytes in unpadded base64.
        dummy = "$argon2id$v=19$\(parameters)$\(String(repeating: "A", count: 22))$\(String(repeating: "A", count: 43))"
    }

    /// A PHC string for `password` with a fresh random salt. Throws `.invalidInput` for a
    /// password over `maximumPasswordByteCount` bytes of UTF-8, and `.argon2` or `.openssl` if
    /// libargon2 (e.g. out of memory) or the CSPRNG fails.
    public func hash(_ password: String) throws(CryptoError) -> String {
        var salt = [UInt8](repeating: 0, count: Self.saltByteCount)
        guard RAND_bytes(&salt, Int32(salt.count)) == 1 else { throw CryptoError.openssl("RAND_bytes") }
        return try hash(password, salt: salt)
    }

    /// `verify` runs libargon2's `argon2id_verify`, which recomputes the hash with the stored
    /// parameters and salt and compares it in constant time. Anything not parsable by
    /// `Argon2PHC` (another algorithm or version, costs beyond the bounds, bad base64) is
    /// `.invalid` at once, without calling libargon2; so is an over-long password.
    public func verify(_ password: String, against phc: String) -> Verification {
        guard let stored = Argon2PHC(phc) else { return .invalid }
        let status = withPasswordCopy(password) { password in
            phc.withCString { argon2id_verify($0, password.baseAddress, password.count) }
        }
        guard status == ARGON2_OK.rawValue else { return .invalid }
        return .valid(needsRehash: needsRehash(stored))
    }

    /// Costs what a failed `verify` costs, for a login whose account does not exist: without it
    /// the response time would tell an attacker which e-mail addresses have accounts.
    public func dummyVerify(_ password: String) {
        _ = verify(password, against: dummy)
    }

    /// Stored strings weaker than the current settings in memory, passes, salt or hash length.
    /// A different lane count changes the hash but not an attacker's cost, so it is not a reason.
    private func needsRehash(_ stored: Argon2PHC) -> Bool {
        stored.parameters.memoryKiB < parameters.memoryKiB || stored.parameters.iterations < parameters.iterations
            || stored.saltByteCount < Self.saltByteCount || stored.hashByteCount < Self.hashByteCount
    }

    /// Lends `password`'s UTF-8 bytes in a buffer that is wiped afterwards (the caller's `String`
    /// itself cannot be); nil when the password is over-long.
    private func withPasswordCopy<R>(_ password: String, _ body: (UnsafeRawBufferPointer) -> R) -> R? {
        let count = password.utf8.count
        guard count <= Self.maximumPasswordByteCount else { return nil }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(count, 1), alignment: 1)
        defer {
            OPENSSL_cleanse(buffer.baseAddress, buffer.count)
            buffer.deallocate()
        }
        buffer.copyBytes(from: password.utf8)
        return body(UnsafeRawBufferPointer(rebasing: buffer[..<count]))
    }

    /// `hash` with a given salt (8–64 bytes); `package` for the reference implementation's vectors.
    package func hash(_ password: String, salt: [UInt8]) throws(CryptoError) -> String {
        guard Argon2PHC.saltByteCounts.contains(salt.count) else {
            throw CryptoError(.invalidInput, "an argon2id salt must be 8 to 64 bytes, got \(salt.count)")
        }
        let (m, t, p) = (parameters.memoryKiB, parameters.iterations, parameters.parallelism)
        let length = argon2_encodedlen(t, m, p, UInt32(salt.count), UInt32(Self.hashByteCount), Argon2_id)
        var encoded = [CChar](repeating: 0, count: length)
        let status = withPasswordCopy(password) { password in
            argon2id_hash_encoded(
                t, m, p, password.baseAddress, password.count, salt, salt.count, Self.hashByteCount, &encoded, encoded.count)
        }
        guard let status else {
            throw CryptoError(
                .invalidInput, "a password must be at most \(Self.maximumPasswordByteCount) bytes of UTF-8")
        }
        guard status == ARGON2_OK.rawValue else { throw CryptoError.argon2("argon2id hashing", status) }
        return String(decoding: encoded.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    // MARK: Test hooks

    /// The raw argon2id tag with a secret and associated data, which the PHC format cannot carry:
    /// for RFC 9106 §5.3's vector.
    package static func argon2idTag(
        password: [UInt8], salt: [UInt8], secret: [UInt8], associatedData: [UInt8], parameters: Parameters,
        tagByteCount: Int
    ) throws(CryptoError) -> [UInt8] {
        // argon2_context keeps raw pointers, so every input and the tag live in one buffer for the call.
        let inputs = [password, salt, secret, associatedData]
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: inputs.reduce(tagByteCount) { $0 + $1.count } + 1)
        defer { buffer.deallocate() }
        var cursor = buffer
        let pointers = (inputs + [[UInt8](repeating: 0, count: tagByteCount)]).map { bytes in
            defer { cursor += bytes.count }
            cursor.initialize(from: bytes, count: bytes.count)
            return (cursor, UInt32(bytes.count))
        }
        var context = argon2_context(
            out: pointers[4].0, outlen: pointers[4].1, pwd: pointers[0].0, pwdlen: pointers[0].1,
            salt: pointers[1].0, saltlen: pointers[1].1, secret: pointers[2].0, secretlen: pointers[2].1,
            ad: pointers[3].0, adlen: pointers[3].1, t_cost: parameters.iterations,
            m_cost: parameters.memoryKiB, lanes: parameters.parallelism, threads: parameters.parallelism,
            version: UInt32(ARGON2_VERSION_13.rawValue), allocate_cbk: nil, free_cbk: nil, flags: 0)
        let status = argon2id_ctx(&context)
        guard status == ARGON2_OK.rawValue else { throw CryptoError.argon2("argon2id_ctx", status) }
        return Array(UnsafeBufferPointer(start: pointers[4].0, count: tagByteCount))
    }
}

extension PasswordHasher {
    /// The outcome of `verify`. A malformed or unsupported stored string is `.invalid` too.
    public enum Verification: Sendable, Hashable {
        /// The password matches. `needsRehash`: the stored string is weaker than the current
        /// parameters, so the caller should store `hash(password)` now that it has the password.
        case valid(needsRehash: Bool)
        case invalid

        public var isValid: Bool {
            if case .valid = self { true } else { false }
        }
    }
}

extension CryptoError {
    /// An `.argon2` error for `operation`, with libargon2's text for `status`.
    static func argon2(_ operation: String, _ status: Int32) -> CryptoError {
        CryptoError(.argon2, "\(operation) failed: \(String(cString: argon2_error_message(status))) (\(status))")
    }
}
