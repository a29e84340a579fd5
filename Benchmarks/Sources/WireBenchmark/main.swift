// Unary echo calls over TLS on loopback: one Wattline server and the Swift SDK in this process.
//   WireBenchmark --certs DIR [--seconds 3]   (DIR from Scripts/lib/dev-certs)
// Prints calls/s and latency percentiles at concurrency 1 and 64, and new TLS handshakes/s.
import Foundation
import NIOCore
import NIOPosix
import WattlineClient
import WattlineProtos
import WattlineTLS
import WattlineWire

var certificates = ".wattline/tls"
var seconds = 3.0
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--certs": certificates = arguments.popFirst() ?? certificates
    case "--seconds": seconds = Double(arguments.popFirst() ?? "") ?? seconds
    default: fatalError("usage: WireBenchmark --certs DIR [--seconds N]")
    }
}

let serverTLS = try TLSContext(configuration: TLSConfiguration(
    certificateChainPath: certificates + "/server.pem", privateKeyPath: certificates + "/server.key"), role: .server)
let clientTLS = try TLSContext(configuration: TLSConfiguration(
    trustedCAPath: certificates + "/ca.pem", serverName: "localhost"), role: .client)

var router = Router()
router.unary(TelemetryV1.QueryService.ReadLatest.self) { request, _ in
    .with { $0.channelIDs = request.channelIDs }  // echo
}
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

/// Runs `concurrency` loops of echo calls on one connection for `seconds`.
func unaryLoad(concurrency: Int, seconds: Double) async throws -> (rate: Double, latencies: [Double]) {
    let client = try await connect()
    let request = TelemetryV1.ReadLatestRequest.with { $0.channelIDs = [1, 2, 3, 4] }
    _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, request)  // warm up
    let clock = ContinuousClock()
    let end = clock.now + .milliseconds(Int64(seconds * 1_000))
    let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var mine: [Double] = []
                while clock.now < end {
                    let start = clock.now
                    _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, request)
                    let elapsed = clock.now - start
                    mine.append(Double(elapsed.components.attoseconds) / 1e12 + Double(elapsed.components.seconds) * 1e6)
                }
                return mine
            }
        }
        return try await group.reduce(into: [Double]()) { $0 += $1 }.sorted()
    }
    await client.close()
    return (Double(latencies.count) / seconds, latencies)
}

print("== wire: unary echo over TLS 1.3 on loopback, Wattline server + Swift SDK, \(seconds) s per run")
var summary: [String: Double] = [:]
for concurrency in [1, 64] {
    let (rate, latencies) = try await unaryLoad(concurrency: concurrency, seconds: seconds)
    print(String(format: "concurrency %3d: %8.0f calls/s   p50 %7.0f µs   p99 %7.0f µs   p999 %7.0f µs",
                 concurrency, rate, percentile(latencies, 0.5), percentile(latencies, 0.99), percentile(latencies, 0.999)))
    summary["unary_c\(concurrency)_calls_per_s"] = rate
    summary["unary_c\(concurrency)_p99_us"] = percentile(latencies, 0.99)
}

// New TLS handshakes per second: connect, complete one call (so the handshake is done), close.
let clock = ContinuousClock()
let end = clock.now + .milliseconds(Int64(seconds * 1_000))
var handshakes = 0
while clock.now < end {
    let client = try await connect()
    _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .init())
    await client.close()
    handshakes += 1
}
print(String(format: "new TLS connections with one call each: %.0f per second (sequential)", Double(handshakes) / seconds))
summary["new_tls_connections_per_s"] = Double(handshakes) / seconds
try await server.close()
print(String(decoding: try JSONSerialization.data(withJSONObject: summary.merging(["benchmark_wire": 1]) { a, _ in a }, options: [.sortedKeys]), as: UTF8.self))
