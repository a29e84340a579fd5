import COpenSSL
import Glibc

/// Loads or creates the master key (the key-encryption key that wraps tenant data keys).
///
/// A key file holds exactly 32 raw bytes, or 64 hex digits with an optional trailing newline,
/// and must not be readable or writable by group or others.
public enum MasterKeyFile {
    /// Opens first and checks the opened file (fstat), so the checks and the read see the same
    /// file. Symlinks are followed (secret mounts use them); the final target must be a regular
    /// file with mode 0600 or stricter.
    public static func load(path: String) throws -> SecretKey {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else { throw failure("cannot open master key file '\(path)'", errno: errno) }
        defer { close(fd) }

        var info = stat()
        guard fstat(fd, &info) == 0 else { throw failure("cannot stat master key file '\(path)'", errno: errno) }
        guard info.st_mode & 0o170000 == 0o100000 else {  // S_IFMT, S_IFREG
            throw CryptoError(.keyFile, "master key file '\(path)' is not a regular file")
        }
        let mode = info.st_mode & 0o7777
        guard mode & 0o077 == 0 else {
            throw CryptoError(
                .keyFile,
                "master key file '\(path)' has mode \(octal(mode)); it must not be accessible by group or others "
                    + "(use mode 0600 or stricter: chmod 600 '\(path)')")
        }

        // Read one byte more than the longest valid form, to detect an over-long file.
        let capacity = 66
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 1)
        defer {
            OPENSSL_cleanse(buffer.baseAddress, capacity)
            buffer.deallocate()
        }
        var count = 0
        while count < capacity {
            let n = read(fd, buffer.baseAddress! + count, capacity - count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("cannot read master key file '\(path)'", errno: errno)
            }
            count += n
        }
        return try parse(UnsafeRawBufferPointer(rebasing: buffer[..<count]), source: "master key file '\(path)'")
    }

    /// Returns the key at `path`, creating it first if it does not exist: missing parent
    /// directories are made with mode 0700, and the key (fresh from RAND_bytes) is written to a
    /// private temporary file (O_CREAT|O_EXCL, 0600), fsynced, then published with link(2). So the
    /// file appears complete or not at all, and a concurrent creator never overwrites it: the
    /// loser loads the winner's key.
    public static func createIfMissing(path: String) throws -> SecretKey {
        var existing = stat()
        if stat(path, &existing) == 0 { return try load(path: path) }
        guard errno == ENOENT else { throw failure("cannot stat master key file '\(path)'", errno: errno) }

        let directory = parentDirectory(of: path)
        try makeDirectories(directory)

        let key = try SecretKey.random()
        var suffix = [UInt8](repeating: 0, count: 8)
        try checkOpenSSL(RAND_bytes(&suffix, Int32(suffix.count)), "RAND_bytes")
        let temporary = "\(directory)/.wattline-master-key.\(getpid()).\(suffix.map { String($0, radix: 16) }.joined())"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { throw failure("cannot create '\(temporary)'", errno: errno) }
        do {
            defer { close(fd) }
            // The umask can only clear bits; set exactly 0600 so the owner can always read it back.
            guard fchmod(fd, 0o600) == 0 else { throw failure("cannot chmod '\(temporary)'", errno: errno) }
            try key.withUnsafeBytes { bytes in
                var offset = 0
                while offset < bytes.count {
                    let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
                    if n < 0 {
                        if errno == EINTR { continue }
                        throw failure("cannot write '\(temporary)'", errno: errno)
                    }
                    offset += n
                }
            }
            guard fsync(fd) == 0 else { throw failure("cannot fsync '\(temporary)'", errno: errno) }
        } catch {
            unlink(temporary)
            throw error
        }

        let linked = link(temporary, path)
        let linkErrno = errno
        unlink(temporary)
        guard linked == 0 else {
            if linkErrno == EEXIST { return try load(path: path) }  // lost a race: use the winner's key
            throw failure("cannot create master key file '\(path)'", errno: linkErrno)
        }
        syncDirectory(directory)
        return key
    }

    /// A key given as 64 hex digits (e.g. from an environment variable), with an optional
    /// trailing newline. The caller's `String` cannot be wiped; prefer a key file where possible.
    public static func fromEnvironment(value hex: String) throws -> SecretKey {
        var bytes = Array(hex.utf8)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        return try bytes.withUnsafeBytes { input in
            try SecretKey { try decodeHex(input, into: $0, what: "master key value") }
        }
    }

    // MARK: Helpers

    private static func parse(_ contents: UnsafeRawBufferPointer, source: String) throws -> SecretKey {
        var body = contents
        if body.count == 2 * SecretKey.byteCount + 1, body[body.count - 1] == UInt8(ascii: "\n") {
            body = UnsafeRawBufferPointer(rebasing: body.dropLast())
        }
        switch body.count {
        case SecretKey.byteCount:
            return SecretKey { $0.copyMemory(from: body) }
        case 2 * SecretKey.byteCount:
            do {
                return try SecretKey { try decodeHex(body, into: $0, what: source) }
            } catch let error as CryptoError {
                throw CryptoError(.keyFile, error.message)
            }
        default:
            throw CryptoError(
                .keyFile,
                "\(source) must contain exactly 32 raw bytes or 64 hex characters (optionally newline-terminated), "
                    + "found \(contents.count) bytes")
        }
    }

    private static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        let parent = String(path[..<slash])
        return parent.isEmpty ? "/" : parent
    }

    /// `mkdir -p` with mode 0700 for each directory it creates; existing ones are left as they are.
    private static func makeDirectories(_ directory: String) throws {
        var prefix = directory.hasPrefix("/") ? "" : "."
        for component in directory.split(separator: "/") {
            prefix += "/" + component
            if mkdir(prefix, 0o700) != 0 && errno != EEXIST {
                throw failure("cannot create directory '\(prefix)'", errno: errno)
            }
        }
    }

    /// Makes the new directory entry durable; best effort, as some filesystems refuse it.
    private static func syncDirectory(_ directory: String) {
        let fd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return }
        _ = fsync(fd)
        close(fd)
    }

    private static func failure(_ what: String, errno code: Int32) -> CryptoError {
        CryptoError(.keyFile, "\(what): \(String(cString: strerror(code)))")
    }

    private static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
