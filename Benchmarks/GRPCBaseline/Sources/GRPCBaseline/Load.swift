// The two throughput workloads, each on the one client (one HTTP/2 connection) it is given.
// Both run a short warm-up of the same shape first, so connection setup, HPACK tables and
// allocator pools are not in the measured window.
import GRPCCore
import GRPCNIOTransportHTTP2Posix

typealias Client = GRPCClient<HTTP2ClientTransport.Posix>

let warmUp = Duration.milliseconds(500)

struct UnaryResult {
    var callsPerSecond: Double
    var p50: Double, p99: Double, p999: Double  // µs
}

struct StreamResult {
    var messagesPerSecond: Double
    var megabytesPerSecond: Double  // 1 MB = 1e6 payload bytes
    var elapsed: Double  // s, until the last count arrived: longer than the writing when writes queue
}

/// `concurrency` tasks each loop 64-byte echo calls for `seconds`.
func unaryEcho(_ client: Client, concurrency: Int, seconds: Double) async throws -> UnaryResult {
    let payload = randomBytes(64)
    _ = try await echoLoops(client, payload, concurrency: concurrency, for: warmUp)
    let clock = ContinuousClock()
    let start = clock.now
    let latencies = try await echoLoops(client, payload, concurrency: concurrency, for: .seconds(seconds)).sorted()
    let elapsed = (clock.now - start).inSeconds
    return UnaryResult(
        callsPerSecond: Double(latencies.count) / elapsed,
        p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99), p999: percentile(latencies, 0.999))
}

/// Per-call latencies in µs, of all tasks.
private func echoLoops(
    _ client: Client, _ payload: [UInt8], concurrency: Int, for duration: Duration
) async throws -> [Double] {
    let clock = ContinuousClock()
    let end = clock.now + duration
    return try await withThrowingTaskGroup(of: [Double].self) { group in
        for _ in 0..<concurrency {
            group.addTask {
                var latencies: [Double] = []
                while clock.now < end {
                    let start = clock.now
                    let echoed = try await client.echo(payload)
                    latencies.append((clock.now - start).inMicroseconds)
                    guard echoed == payload else { throw RPCError(code: .dataLoss, message: "echo differs") }
                }
                return latencies
            }
        }
        return try await group.reduce(into: []) { $0 += $1 }
    }
}

/// `streams` concurrent client-streaming calls each write 1 KiB messages as fast as the writer
/// accepts them for `seconds`, then end; the rate is the sum of the server's counts over the time
/// until the last response arrived. A writer is held back by its own stream's HTTP/2 window but (as
/// measured here) not by the connection's shared one, so with 64 streams writes queue in the client
/// and drain after `seconds`: the drain is inside `elapsed`, so the rate is what was delivered.
func clientStreaming(_ client: Client, streams: Int, seconds: Double) async throws -> StreamResult {
    let message = randomBytes(1_024)
    _ = try await streamLoops(client, message, streams: streams, for: warmUp)
    let clock = ContinuousClock()
    let start = clock.now
    let count = try await streamLoops(client, message, streams: streams, for: .seconds(seconds))
    let elapsed = (clock.now - start).inSeconds
    let rate = Double(count) / elapsed
    return StreamResult(
        messagesPerSecond: rate, megabytesPerSecond: rate * Double(message.count) / 1e6, elapsed: elapsed)
}

private func streamLoops(
    _ client: Client, _ message: [UInt8], streams: Int, for duration: Duration
) async throws -> UInt64 {
    let clock = ContinuousClock()
    let end = clock.now + duration
    return try await withThrowingTaskGroup(of: UInt64.self) { group in
        for _ in 0..<streams {
            group.addTask {
                try await client.count { writer in
                    while clock.now < end { try await writer.write(message) }
                }
            }
        }
        return try await group.reduce(0, +)
    }
}

func randomBytes(_ count: Int) -> [UInt8] {
    (0..<count).map { _ in UInt8.random(in: .min ... .max) }
}

/// Nearest-rank on sorted values, the same rule as Benchmarks/Sources/WireBenchmark.
func percentile(_ sorted: [Double], _ p: Double) -> Double {
    sorted.isEmpty ? 0 : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]
}

extension Duration {
    var inSeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
    var inMicroseconds: Double { inSeconds * 1e6 }
}
