import Foundation
import WattlineTestSupport

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
