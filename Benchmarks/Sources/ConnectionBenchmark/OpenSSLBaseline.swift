import Foundation

/// `openssl s_server` with the same certificate, key and TLS 1.3, in the mode given: `-rev` (each line sent back
/// reversed, for our own client loop) or `-WWW` (serves files, for `s_time -www`, which needs a reply to read the
/// TLS 1.3 tickets: without one, s_time -reuse silently makes full handshakes). `-quiet`, because `-rev` otherwise
/// writes ten lines per connection; that also hides the ACCEPT line, so we choose the port.
struct OpenSSLServer {
    static let servedFile = "hello.txt"

    let process: ChildProcess
    let port: Int
    let directory: String

    static func start(certificates: String, mode: String) async throws -> OpenSSLServer {
        let directory = NSTemporaryDirectory() + "connection-benchmark-www-\(getpid())-\(mode.dropFirst())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try "hello from openssl s_server\n".write(toFile: directory + "/" + servedFile, atomically: true, encoding: .utf8)
        let certificates = URL(fileURLWithPath: certificates).standardizedFileURL.path  // the child runs elsewhere
        let port = try LoopbackPort.free()
        let process = try ChildProcess(
            ["openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-quiet",
             "-cert", certificates + "/server.pem", "-key", certificates + "/server.key",
             "-tls1_3", "-alpn", "wattline/1", mode],
            directory: directory)
        var attempts = 0
        while !LoopbackPort.accepts(port) {  // s_server shrugs off a connection that sends nothing
            attempts += 1
            guard attempts < 500 else { throw BenchmarkError("s_server is not listening: \(process.output.suffix(500))") }
            try await Task.sleep(for: .milliseconds(20))
        }
        return OpenSSLServer(process: process, port: port, directory: directory)
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// `openssl s_time -new` or `-reuse` against a `-WWW` s_server for `seconds`: one sequential client, each
/// connection fetching the small file. The rate uses our own wall clock around the run, because s_time's
/// "real seconds" are whole seconds (a 3 s run reports 3 or 4) and its other rate is per client CPU second.
func sTime(port: Int, reuse: Bool, seconds: Double, serverPID: pid_t) async throws -> (HandshakeRate, String) {
    let cpuBefore = cpuSeconds(of: serverPID)
    let clientCPUBefore = ownCPUSeconds(children: true)  // s_time is the only child reaped meanwhile
    let clock = ContinuousClock()
    let start = clock.now
    let process = try ChildProcess(
        ["openssl", "s_time", "-connect", "127.0.0.1:\(port)", reuse ? "-reuse" : "-new",
         "-www", "/" + OpenSSLServer.servedFile, "-time", String(Int(seconds.rounded(.up)))])
    defer { process.stop() }
    let status = await process.exitStatus()
    let elapsed = clock.now - start
    let output = process.output
    // "1842 connections in 1.18s; 1561.02 connections/user sec, bytes read 0" ends the timed loop.
    guard status == 0,
          let line = output.split(separator: "\n").last(where: { $0.contains("connections/user sec") }),
          let connections = Int(line.split(separator: " ").first ?? "")
    else { throw BenchmarkError("s_time failed (\(status)): \(output.suffix(500))") }
    // s_time prints one character per connection: "r" for a resumed session.
    let progress = output.split(separator: "\n").filter { $0.allSatisfy { "*rtT123?".contains($0) } }.joined()
    let resumed = progress.filter { $0 == "r" }.count
    let ownLine = output.split(separator: "\n").last(where: { $0.contains("real seconds") }).map(String.init) ?? ""
    let cpu = cpuSeconds(of: serverPID) - cpuBefore
    let clientCPU = ownCPUSeconds(children: true) - clientCPUBefore
    return (HandshakeRate(
        connections: connections, resumed: resumed,
        seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
        serverCPUPerConnection: connections > 0 ? cpu / Double(connections) : nil,
        clientCPUPerConnection: connections > 0 ? clientCPU / Double(connections) : nil), ownLine)
}
