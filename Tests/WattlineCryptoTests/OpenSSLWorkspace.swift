import Foundation

/// A scratch directory where tests write PEM files and run the openssl CLI on them; removed when released.
final class OpenSSLWorkspace {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "wattline-ca-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    func write(_ name: String, _ text: String) throws {
        try text.write(toFile: path + "/" + name, atomically: true, encoding: .utf8)
    }

    func write(_ name: String, bytes: [UInt8]) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path + "/" + name))
    }

    func read(_ name: String) throws -> String {
        try String(contentsOfFile: path + "/" + name, encoding: .utf8)
    }

    func readBytes(_ name: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path + "/" + name)))
    }

    /// Runs `openssl <arguments>` in the workspace; returns its exit status and combined output.
    @discardableResult
    func openssl(_ arguments: String...) -> (status: Int32, output: String) {
        runSynchronously(["/usr/bin/openssl"] + arguments, in: path)
    }

    /// As `openssl(_:)`, but a failure is an error carrying the command's output.
    @discardableResult
    func mustRun(_ arguments: String...) throws -> String {
        let result = runSynchronously(["/usr/bin/openssl"] + arguments, in: path)
        guard result.status == 0 else {
            throw WorkspaceError(message: "openssl \(arguments.joined(separator: " ")) → \(result.status): \(result.output)")
        }
        return result.output
    }
}

struct WorkspaceError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// Runs a command (always under `timeout 10`, so a test can never hang on it) with stdin from
/// /dev/null and its output captured in a temporary file. posix_spawn and waitpid rather than
/// Foundation's Process, whose waitUntilExit was seen to miss a child's exit and hang a test run
/// (as in WattlineTLSTests' support).
func runSynchronously(_ command: [String], in directory: String? = nil) -> (status: Int32, output: String) {
    let outputPath = NSTemporaryDirectory() + "wattline-crypto-test-\(UUID().uuidString)"
    defer { unlink(outputPath) }
    let shellCommand = (directory.map { "cd '\($0)' && " } ?? "") + "exec /usr/bin/timeout 10 \"$@\""
    let argv = ["/bin/sh", "-c", shellCommand, "sh"] + command
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let spawned = posix_spawn(&pid, "/bin/sh", &actions, nil, cArguments, environ)
    guard spawned == 0 else { return (-1, "cannot run \(command): posix_spawn error \(spawned)") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0, errno == EINTR {}
    let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
    let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    return (exitStatus, output)
}

/// Whitespace runs collapsed to one space, so `openssl x509 -text` output can be matched line-independently.
func squashed(_ text: String) -> String {
    text.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
}

/// "sha256 Fingerprint=AB:CD:…" (or "SHA256 Fingerprint=…") → "abcd…".
func normalisedFingerprint(_ output: String) -> String {
    let value = output.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
    return value.filter { $0 != ":" && !$0.isWhitespace }.lowercased()
}

/// DER → PEM with the given label, 64 characters a line.
func pem(_ der: [UInt8], label: String) -> String {
    let base64 = Data(der).base64EncodedString()
    var lines: [Substring] = []
    var rest = Substring(base64)
    while !rest.isEmpty {
        lines.append(rest.prefix(64))
        rest = rest.dropFirst(64)
    }
    return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
}
