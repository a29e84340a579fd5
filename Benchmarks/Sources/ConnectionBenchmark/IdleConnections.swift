import NIOCore
import WattlineClient
import WattlineProtos
import WattlineTLS

/// Long-lived connections through the Swift SDK: each finishes TLS, HELLO and one unary call, then stays open.
enum IdleConnections {
    /// Connects in flight at once: enough to be quick, few enough that the listen backlog never overflows.
    static let parallel = 128
    static let request = TelemetryV1.ReadLatestRequest.with { $0.channelIDs = [1, 2, 3, 4] }

    /// Opens `count` connections; each has answered one call when this returns.
    static func open(_ count: Int, port: Int, tls: TLSContext) async throws -> [WattlineClient] {
        try await forEach(Array(0..<count)) { _ in
            let client = try await WattlineClient.connect(host: "127.0.0.1", port: port) { channel in
                try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
            }
            _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, request, timeout: .seconds(30))
            return client
        }
    }

    /// One more call on every connection; returns how many answered correctly.
    static func callAll(_ clients: [WattlineClient]) async throws -> Int {
        try await forEach(clients) { client in
            let response = try? await client.unary(TelemetryV1.QueryService.ReadLatest.self, request, timeout: .seconds(30))
            return response?.channelIDs == request.channelIDs ? 1 : 0
        }.reduce(0, +)
    }

    static func closeAll(_ clients: [WattlineClient]) async throws {
        _ = try await forEach(clients) { await $0.close() }
    }

    /// Runs `body` on every element with at most `parallel` in flight; results in input order.
    private static func forEach<Element: Sendable, Result: Sendable>(
        _ elements: [Element], _ body: @escaping @Sendable (Element) async throws -> Result
    ) async throws -> [Result] {
        try await withThrowingTaskGroup(of: (Int, Result).self) { group in
            var results = [Result?](repeating: nil, count: elements.count)
            var next = 0
            var inFlight = 0
            while next < elements.count || inFlight > 0 {
                while next < elements.count && inFlight < parallel {
                    let index = next
                    group.addTask { (index, try await body(elements[index])) }
                    next += 1
                    inFlight += 1
                }
                if let (index, result) = try await group.next() { results[index] = result }
                inFlight -= 1
            }
            return results.map { $0! }
        }
    }
}
