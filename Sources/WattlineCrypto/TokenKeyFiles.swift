import Glibc

/// The access-token signing key ring on disk, beside the current key's file `path`:
///
///     path            the current signing key (32-byte seed, mode 0600, as `MasterKeyFile`)
///     path.staged     the next key, published for verification before it signs
///     path.retired    retired public keys, one per line: "<64 hex digits> <keep-until, unix seconds>"
///
/// Every node of a deployment reads the same files (a shared secret mount). Rotation with
/// overlap (docs/identity.md, "Signing keys"): `stage`, then let every node reload (SIGHUP) so it
/// verifies the staged key's tokens; `rotate`, then restart the nodes one by one: each signs with
/// the new key from its restart and keeps verifying the old key's tokens until they have expired.
public enum TokenKeyFiles {
    public static func stagedPath(_ path: String) -> String { path + ".staged" }
    public static func retiredPath(_ path: String) -> String { path + ".retired" }

    /// The ring as stored, without retired keys past their retention.
    public static func load(path: String, now: Int64) throws -> SigningKeyRing {
        let current = try Ed25519SigningKey(seed: MasterKeyFile.load(path: path))
        let staged = access(stagedPath(path), F_OK) == 0
            ? try Ed25519SigningKey(seed: MasterKeyFile.load(path: stagedPath(path))) : nil
        var ring = try SigningKeyRing(current: current, staged: staged, retired: try retired(path: path))
        ring.prune(now: now)
        return ring
    }

    /// Creates the staged key; throws if one is staged already. Returns its key ID.
    @discardableResult
    public static func stage(path: String) throws -> String {
        var ring = try load(path: path, now: UnixTime.now())
        guard ring.staged == nil else { throw CryptoError(.invalidInput, "a key is staged already (\(stagedPath(path))); rotate first") }
        let key = try Ed25519SigningKey(seed: MasterKeyFile.createIfMissing(path: stagedPath(path)))
        try ring.stage(key)
        return key.keyID
    }

    /// Makes the staged key current and retires the current one for `SigningKeyRing.defaultRetention`.
    /// Returns the retired and the new key IDs.
    @discardableResult
    public static func rotate(path: String, now: Int64) throws -> (retired: String, current: String) {
        var ring = try load(path: path, now: now)
        let old = ring.current
        try ring.rotate(now: now)
        try writeRetired(ring.retired, path: path)
        // rename(2) replaces the current key atomically: a reader sees the old seed or the new one.
        guard rename(stagedPath(path), path) == 0 else {
            throw CryptoError(.keyFile, "cannot move '\(stagedPath(path))' to '\(path)': errno \(errno)")
        }
        return (old.keyID, ring.current.keyID)
    }

    static func retired(path: String) throws -> [SigningKeyRing.RetiredKey] {
        guard let text = try readSmallFile(retiredPath(path)) else { return [] }
        return try text.split(separator: "\n").map { line in
            let fields = line.split(separator: " ")
            guard fields.count == 2, fields[0].utf8.count == 64, let keepUntil = Int64(fields[1]) else {
                throw CryptoError(.keyFile, "'\(retiredPath(path))' has a malformed line; expected '<hex public key> <unix seconds>'")
            }
            var raw = [UInt8](repeating: 0, count: 32)
            var hex = Array(fields[0].utf8)
            try hex.withUnsafeMutableBytes { input in
                try raw.withUnsafeMutableBytes { try decodeHex(UnsafeRawBufferPointer(input), into: $0, what: "retired public key") }
            }
            return SigningKeyRing.RetiredKey(publicKey: try Ed25519PublicKey(rawRepresentation: raw), keepUntil: keepUntil)
        }
    }

    static func writeRetired(_ keys: [SigningKeyRing.RetiredKey], path: String) throws {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        for key in keys {
            for byte in key.publicKey.rawRepresentation { text += [digits[Int(byte >> 4)], digits[Int(byte & 15)]] }
            text += Array(" \(key.keepUntil)\n".utf8)
        }
        // Written in full and fsynced under a temporary name, then renamed over the old list.
        let temporary = retiredPath(path) + ".new"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw CryptoError(.keyFile, "cannot write '\(temporary)': errno \(errno)") }
        let written = text.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let synced = fsync(fd)
        close(fd)
        guard written == text.count, synced == 0, rename(temporary, retiredPath(path)) == 0 else {
            unlink(temporary)
            throw CryptoError(.keyFile, "cannot write '\(retiredPath(path))': errno \(errno)")
        }
    }

    /// The file's text, nil when it does not exist; at most 64 KiB.
    static func readSmallFile(_ path: String) throws -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 {
            if errno == ENOENT { return nil }
            throw CryptoError(.keyFile, "cannot open '\(path)': errno \(errno)")
        }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 65_537)
        var count = 0
        while count < bytes.count {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + count, $0.count - count) }
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw CryptoError(.keyFile, "cannot read '\(path)': errno \(errno)")
            }
            count += n
        }
        guard count < bytes.count else { throw CryptoError(.keyFile, "'\(path)' is larger than 64 KiB") }
        return String(decoding: bytes[..<count], as: UTF8.self)
    }
}
