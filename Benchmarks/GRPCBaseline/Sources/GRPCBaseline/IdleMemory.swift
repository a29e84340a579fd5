// Server memory per idle connection. The server runs alone in a child process (`serve`) so that its
// resident set holds nothing of the clients; the parent opens the connections and reads the child's
// VmRSS before and after.
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2Posix

/// `grpc-baseline serve`: serves until SIGTERM ends the process, after writing its port to `portFile`.
func serve(_ certificates: Certificates, portFile: String) async throws {
    let server = GRPCServer(transport: certificates.server(port: 0), services: [BaselineService()])
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await server.serve() }
        // Atomic (written aside, then renamed): the parent never reads half a number.
        try "\(try await boundPort(server))\n".write(toFile: portFile, atomically: true, encoding: .utf8)
    }
}

struct IdleResult {
    var bytesPerConnection: Int
    var before: Int, after: Int  // the server's VmRSS, bytes
}

/// Opens `count` connections to a child server, each completing one unary call (TLS handshake and
/// HTTP/2 settings done) and then left open and idle for ~1 s before the second reading.
func idleConnectionMemory(_ certificates: Certificates, count: Int) async throws -> IdleResult {
    let portFile = NSTemporaryDirectory() + "grpc-baseline-\(getpid()).port"
    unlink(portFile)
    let child = try spawnSelf(["serve", "--certs", certificates.directory, "--port-file", portFile])
    defer {
        kill(child, SIGTERM)
        var status: Int32 = 0
        waitpid(child, &status, 0)
        unlink(portFile)
    }
    let port = try await waitForPort(portFile)
    let before = try residentBytes(child)
    let payload = randomBytes(64)

    let after = try await withThrowingDiscardingTaskGroup { group in
        var clients: [Client] = []
        for _ in 0..<count {
            let client = GRPCClient(transport: try certificates.client(port: port))
            group.addTask { try await client.runConnections() }
            clients.append(client)
        }
        // At most 64 handshakes in flight: the 2 cores are shared by both processes.
        try await withThrowingTaskGroup(of: Void.self) { calls in
            for (index, client) in clients.enumerated() {
                if index >= 64 { try await calls.next() }
                calls.addTask { _ = try await client.echo(payload) }
            }
            try await calls.waitForAll()
        }
        try await Task.sleep(for: .seconds(1))
        let after = try residentBytes(child)
        for client in clients { client.beginGracefulShutdown() }
        return after
    }
    return IdleResult(bytesPerConnection: (after - before) / count, before: before, after: after)
}

/// Starts this executable again with `arguments`, inheriting the environment and standard streams.
private func spawnSelf(_ arguments: [String]) throws -> pid_t {
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    let environment = ProcessInfo.processInfo.environment.map { "\($0.key)=\($0.value)" }
    let argv = ([executable] + arguments).map { strdup($0) } + [nil]
    let envp = environment.map { strdup($0) } + [nil]
    defer { (argv + envp).forEach { free($0) } }
    var pid: pid_t = 0
    let error = posix_spawn(&pid, executable, nil, nil, argv, envp)
    guard error == 0 else { throw RuntimeFailure("posix_spawn: \(String(cString: strerror(error)))") }
    return pid
}

private func waitForPort(_ path: String) async throws -> Int {
    for _ in 0..<300 {
        if let text = try? String(contentsOfFile: path, encoding: .utf8),
            let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
        {
            return port
        }
        try await Task.sleep(for: .milliseconds(100))
    }
    throw RuntimeFailure("the server child wrote no port to \(path) within 30 s")
}

/// VmRSS of process `pid`, in bytes.
private func residentBytes(_ pid: pid_t) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
        let kilobytes = Int(line.split(whereSeparator: \.isWhitespace).dropFirst().first ?? "")
    else { throw RuntimeFailure("no VmRSS in /proc/\(pid)/status") }
    return kilobytes * 1_024
}

struct RuntimeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
