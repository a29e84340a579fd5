#if canImport(Glibc)
import Glibc
#endif

/// Runs a program to completion with `posix_spawn` and `waitpid`, its output captured in a
/// temporary file. Foundation's `Process` is avoided on purpose: its `waitUntilExit` can miss the
/// exit of a child whose own children (here, the PostgreSQL daemon) outlive it.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        let program: String
        let status: Int32
        let output: String
        public var description: String { "\(program) failed (status \(status)): \(output.suffix(600))" }
    }

    /// Runs `path` with `arguments`; returns its output, or throws `Failure` on a non-zero exit.
    @discardableResult
    public static func run(_ path: String, _ arguments: [String]) throws -> String {
        var template = Array("/tmp/wattline-command-XXXXXX".utf8CString)
        let outputFD = mkstemp(&template)
        guard outputFD >= 0 else { throw Failure(program: path, status: -1, output: "mkstemp: errno \(errno)") }
        let outputPath = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        defer {
            close(outputFD)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFD, 2)
        closeInheritedDescriptors(&actions)

        let argv = ([path] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, path, &actions, nil, argv, environ)
        guard spawned == 0 else {
            throw Failure(program: path, status: -1, output: "posix_spawn: \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else { throw Failure(program: path, status: -1, output: "waitpid: errno \(errno)") }
        }
        let output = readAll(outputPath)
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitStatus == 0 else { throw Failure(program: path, status: exitStatus, output: output) }
        return output
    }

    /// SwiftNIO opens its sockets without `CLOEXEC`, so a child would inherit every connection of
    /// this process, and PostgreSQL, which `runuser` gives 1,024 descriptors, then runs out. glibc's
    /// `posix_spawn_file_actions_addclosefrom_np` (2.34+) closes them in the child; Swift's Glibc
    /// module hides it behind `_GNU_SOURCE`, hence the lookup.
    private static func closeInheritedDescriptors(_ actions: inout posix_spawn_file_actions_t) {
        typealias CloseFrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "posix_spawn_file_actions_addclosefrom_np") else { return }
        _ = unsafeBitCast(symbol, to: CloseFrom.self)(&actions, 3)
    }

    private static func readAll(_ path: String) -> String {
        guard let file = fopen(path, "r") else { return "" }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            if count <= 0 { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
