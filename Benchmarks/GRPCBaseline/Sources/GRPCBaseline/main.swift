// The grpc-swift-2 baseline of the wire-protocol benchmark: the workloads Wattline's own benchmark
// runs, over gRPC (HTTP/2, TLS 1.3) with server and client in this process on 127.0.0.1.
//   grpc-baseline --certs DIR [--seconds S] [--idle N]    (DIR from Scripts/lib/dev-certs)
//   grpc-baseline serve --certs DIR --port-file F         (the server child of the idle-memory run)
// Prints human-readable lines, then one line of JSON with sorted keys for the comparison script.
import Foundation
import GRPCCore

let usage = """
    usage: grpc-baseline --certs DIR [--seconds S] [--idle N]
           grpc-baseline serve --certs DIR --port-file F
    """

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

var rest = CommandLine.arguments.dropFirst()
let serving = rest.first == "serve"
if serving { rest = rest.dropFirst() }
var options: [String: String] = [:]
while let name = rest.popFirst() {
    guard ["--certs", "--seconds", "--idle", "--port-file"].contains(name), let value = rest.popFirst() else {
        fail(usage)
    }
    options[name] = value
}
guard let directory = options["--certs"] else { fail(usage) }
for file in ["ca.pem", "server.pem", "server.key"] where !FileManager.default.fileExists(atPath: directory + "/" + file) {
    fail("grpc-baseline: no \(directory)/\(file): make the certificates with Scripts/lib/dev-certs \(directory)")
}
let certificates = Certificates(directory: directory)

if serving {
    guard let portFile = options["--port-file"] else { fail(usage) }
    try await serve(certificates, portFile: portFile)
    exit(0)
}

guard let seconds = Double(options["--seconds"] ?? "3"), seconds > 0,
    let idleCount = Int(options["--idle"] ?? "1000"), idleCount > 0
else { fail(usage) }

print("== grpc-swift-2 baseline: HTTP/2 + TLS 1.3 on 127.0.0.1, one client connection, \(seconds) s per run")
var summary: [String: Any] = ["system": "grpc-swift-2"]

func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }

let (unary, streaming) = try await withGRPCServer(
    transport: certificates.server(port: 0), services: [BaselineService()]
) { server in
    let port = try await boundPort(server)
    return try await withGRPCClient(transport: try certificates.client(port: port)) { client in
        var unary: [Int: UnaryResult] = [:]
        for concurrency in [1, 64] {
            unary[concurrency] = try await unaryEcho(client, concurrency: concurrency, seconds: seconds)
        }
        var streaming: [Int: StreamResult] = [:]
        for streams in [1, 64] {
            streaming[streams] = try await clientStreaming(client, streams: streams, seconds: seconds)
        }
        return (unary, streaming)
    }
}

for (concurrency, result) in unary.sorted(by: { $0.key < $1.key }) {
    print(String(format: "unary echo 64 B, concurrency %2d: %8.0f calls/s   p50 %6.0f µs   p99 %6.0f µs   p999 %6.0f µs",
                 concurrency, result.callsPerSecond, result.p50, result.p99, result.p999))
    summary["unary_c\(concurrency)_calls_per_s"] = rounded(result.callsPerSecond)
    summary["unary_c\(concurrency)_p50_us"] = rounded(result.p50)
    summary["unary_c\(concurrency)_p99_us"] = rounded(result.p99)
    summary["unary_c\(concurrency)_p999_us"] = rounded(result.p999)
}
for (streams, result) in streaming.sorted(by: { $0.key < $1.key }) {
    print(String(format: "client streaming 1 KiB, %2d stream(s): %8.0f msgs/s   %7.1f MB/s   (writing %.1f s, last count at %.1f s)",
                 streams, result.messagesPerSecond, result.megabytesPerSecond, seconds, result.elapsed))
    summary["stream_\(streams)_msgs_per_s"] = rounded(result.messagesPerSecond)
    summary["stream_\(streams)_mb_per_s"] = rounded(result.megabytesPerSecond)
}

let idle = try await idleConnectionMemory(certificates, count: idleCount)
print(String(format: "idle connections: %d, server VmRSS %.1f MB -> %.1f MB: %d bytes per connection",
             idleCount, Double(idle.before) / 1e6, Double(idle.after) / 1e6, idle.bytesPerConnection))
summary["idle_conn_bytes"] = idle.bytesPerConnection
summary["idle_connections"] = idleCount

print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
