// The wire-protocol workloads over TLS 1.3 on loopback, Wattline server and Swift SDK in this
// process; Benchmarks/GRPCBaseline runs the same workloads over grpc-swift-2, and
// Scripts/lib/compare-wire prints the two side by side.
//   WireBenchmark --certs DIR [--seconds 3]   (DIR from Scripts/lib/dev-certs)
// Workloads: unary echo of 64 bytes at concurrency 1 and 64 on one connection; client-streaming
// of 1 KiB messages on 1 stream and on 64 concurrent streams of one connection.
import Foundation
import NIOCore
import NIOPosix
import WattlineClient
import WattlineProtos
import WattlineTLS
import WattlineWire

var certificates = ".wattline/tls"
var requestedSeconds = 3.0
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--certs": certificates = arguments.popFirst() ?? certificates
    case "--seconds": requestedSeconds = Double(arguments.popFirst() ?? "") ?? requestedSeconds
    default: fatalError("usage: WireBenchmark --certs DIR [--seconds N]")
    }
}

let seconds = requestedSeconds

let serverTLS = try TLSContext(configuration: TLSConfiguration(
    certificateChainPath: certificates + "/server.pem", privateKeyPath: certificates + "/server.key"), role: .server)
let clientTLS = try TLSContext(configuration: TLSConfiguration(
    trustedCAPath: certificates + "/ca.pem", serverName: "localhost"), role: .client)

var router = Router()
EchoService.register(in: &router)
let frozen = router
let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .serverChannelOption(.backlog, value: 1_024)
    .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: serverTLS))
            try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
        }
    }
    .bind(host: "127.0.0.1", port: 0).get()
let port = server.localAddress!.port!

func connect() async throws -> WattlineClient {
    try await WattlineClient.connect(host: "127.0.0.1", port: port) { channel in
        try channel.pipeline.syncOperations.addHandler(TLSHandler(context: clientTLS))
    }
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

func microseconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12
}

/// `concurrency` loops of 64-byte echo calls on one connection for `seconds`.
func unaryLoad(concurrency: Int) async throws -> (rate: Double, latencies: [Double]) {
    let client = try await connect()
    let request = EchoV1.EchoRequest.with { $0.payload = [UInt8](repeating: 0x5A, count: 64) }
    for _ in 0..<100 { _ = try await client.unary(EchoV1.EchoService.Echo.self, request) }  // warm up
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + .milliseconds(Int64(seconds * 1_000))
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var mine: [Double] = []
                while clock.now < end {
                    let begin = clock.now
                    _ = try await client.unary(EchoV1.EchoService.Echo.self, request)
                    mine.append(microseconds(clock.now - begin))
                }
                return mine
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
    }
    let elapsed = clock.now - start
    await client.close()
    return (Double(latencies.count) / (microseconds(elapsed) / 1e6), latencies)
}

/// `streams` concurrent client-streaming calls writing 1 KiB messages for `seconds`; the server
/// counts what it received.
func streamingLoad(streams: Int) async throws -> Double {
    let client = try await connect()
    let message = EchoV1.CollectRequest.with { $0.payload = [UInt8](repeating: 0x5A, count: 1_024) }
    let clock = ContinuousClock()
    let start = clock.now
    let end = start + .milliseconds(Int64(seconds * 1_000))
    let received = try await withThrowingTaskGroup(of: UInt64.self) { group in
        for _ in 0..<streams {
            group.addTask {
                let response = try await client.clientStreaming(EchoV1.EchoService.Collect.self) { requests in
                    while clock.now < end {
                        for _ in 0..<64 { try await requests.write(message) }
                    }
                }
                return response.messages
            }
        }
        return try await group.reduce(0, +)
    }
    let elapsed = clock.now - start
    await client.close()
    return Double(received) / (microseconds(elapsed) / 1e6)
}

print("== Wattline wire protocol: TLS 1.3 on 127.0.0.1, one client connection, \(seconds) s per run")
var summary: [String: Any] = ["system": "wattline"]
func rounded(_ value: Double) -> Double { (value * 100).rounded() / 100 }
for concurrency in [1, 64] {
    let (rate, latencies) = try await unaryLoad(concurrency: concurrency)
    let p50 = percentile(latencies, 0.5), p99 = percentile(latencies, 0.99), p999 = percentile(latencies, 0.999)
    print(String(format: "unary echo, concurrency %3d: %8.0f calls/s   p50 %7.0f µs   p99 %7.0f µs   p999 %7.0f µs",
                 concurrency, rate, p50, p99, p999))
    summary["unary_c\(concurrency)_calls_per_s"] = rounded(rate)
    summary["unary_c\(concurrency)_p50_us"] = rounded(p50)
    summary["unary_c\(concurrency)_p99_us"] = rounded(p99)
    summary["unary_c\(concurrency)_p999_us"] = rounded(p999)
}
for streams in [1, 64] {
    let rate = try await streamingLoad(streams: streams)
    print(String(format: "client-streaming 1 KiB messages, %2d stream(s): %9.0f messages/s   %7.1f MB/s",
                 streams, rate, rate * 1_024 / 1e6))
    summary["stream_\(streams)_msgs_per_s"] = rounded(rate)
    summary["stream_\(streams)_mb_per_s"] = rounded(rate * 1_024 / 1e6)
}
try await server.close()
print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
