import Metrics
import NIOCore
import Prometheus
import Testing
@testable import WattlineObservability

/// The scrape endpoint over real sockets, on an ephemeral loopback port with its own registry
/// (no global bootstrap: each test has its own factory).
@Suite struct MetricsEndpointTests {
    func withEndpoint(
        _ configuration: MetricsEndpoint.Configuration = .init(port: 0),
        _ body: (ScrapeClient, PrometheusMetricsFactory) async throws -> Void
    ) async throws {
        let registry = PrometheusCollectorRegistry()
        let endpoint = try await MetricsEndpoint.start(configuration: configuration, registry: registry)
        let address = try #require(endpoint.localAddress)
        do {
            try await body(ScrapeClient(address: address), makeMetricsFactory(registry: registry))
        } catch {
            await endpoint.stop()
            throw error
        }
        await endpoint.stop()
    }

    @Test func servesCountersAndHistogramsInTheTextFormat() async throws {
        try await withEndpoint { client, factory in
            Counter(label: "test_requests_total", dimensions: [("route", "a \"b\"")], factory: factory).increment(by: 3)
            Meter(label: "test_open", factory: factory).increment()
            Timer(label: "test_latency_seconds", factory: factory).recordMicroseconds(75)
            Timer(label: "test_latency_seconds", factory: factory).recordMilliseconds(3)

            let reply = try await client.get("/metrics")
            #expect(reply.statusLine == "HTTP/1.1 200 OK")
            #expect(reply.header("Content-Type") == "text/plain; version=0.0.4; charset=utf-8")
            #expect(reply.header("Content-Length") == "\(reply.body.utf8.count)")
            let lines = Set(reply.body.split(separator: "\n").map(String.init))
            #expect(lines.contains("# TYPE test_requests_total counter"))
            #expect(lines.contains(#"test_requests_total{route="a \"b\""} 3"#))
            #expect(lines.contains("# TYPE test_open gauge"))
            #expect(lines.contains("test_open 1.0"))
            #expect(lines.contains("# TYPE test_latency_seconds histogram"))
            // The Wattline buckets: 75 µs lands in the 100 µs bucket, 3 ms in the 5 ms one.
            #expect(lines.contains(#"test_latency_seconds_bucket{le="0.00005"} 0"#))
            #expect(lines.contains(#"test_latency_seconds_bucket{le="0.0001"} 1"#))
            #expect(lines.contains(#"test_latency_seconds_bucket{le="0.0025"} 1"#))
            #expect(lines.contains(#"test_latency_seconds_bucket{le="0.005"} 2"#))
            #expect(lines.contains(#"test_latency_seconds_bucket{le="+Inf"} 2"#))
            #expect(lines.contains("test_latency_seconds_count 2"))
        }
    }

    @Test func queryStringsAreIgnored() async throws {
        try await withEndpoint { client, _ in
            let reply = try await client.get("/metrics?format=text")
            #expect(reply.statusLine == "HTTP/1.1 200 OK")
        }
    }

    @Test func otherPathsAreNotFound() async throws {
        try await withEndpoint { client, _ in
            for path in ["/", "/metrics/", "/metricsx", "/debug"] {
                let reply = try await client.get(path)
                #expect(reply.statusLine == "HTTP/1.1 404 Not Found", "\(path)")
                #expect(reply.header("Connection") == "close")
            }
        }
    }

    @Test func otherMethodsAreNotAllowed() async throws {
        try await withEndpoint { client, _ in
            for method in ["POST", "PUT", "DELETE", "HEAD"] {
                let reply = try await client.exchange("\(method) /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                #expect(reply.statusLine == "HTTP/1.1 405 Method Not Allowed", "\(method)")
                #expect(reply.header("Allow") == "GET")
            }
        }
    }

    @Test func oversizedRequestIsRefused() async throws {
        try await withEndpoint(.init(port: 0, maxRequestBytes: 1_024)) { client, _ in
            let padding = String(repeating: "a", count: 1_500)
            let reply = try await client.exchange("GET /metrics HTTP/1.1\r\nHost: x\r\nX-Padding: \(padding)\r\n\r\n")
            #expect(reply.statusLine == "HTTP/1.1 413 Payload Too Large")
            #expect(!reply.raw.contains("200 OK"))
        }
    }

    @Test func malformedRequestGetsBadRequest() async throws {
        try await withEndpoint { client, _ in
            let reply = try await client.exchange("GET /metrics HTTP/1.1\r\nHost x\r\n\r\n")
            #expect(reply.statusLine == "HTTP/1.1 400 Bad Request")
        }
    }

    @Test func slowAndIdleClientsAreClosed() async throws {
        try await withEndpoint(.init(port: 0, timeout: .milliseconds(300))) { client, _ in
            for request in ["GET /metr", ""] {
                let start = ContinuousClock.now
                let reply = try await client.exchange(request)
                let elapsed = ContinuousClock.now - start
                #expect(reply.raw.isEmpty)
                #expect(elapsed >= .milliseconds(250) && elapsed < .seconds(5), "\(elapsed)")
            }
        }
    }

    @Test func connectionsBeyondTheLimitAreClosedOnAccept() async throws {
        try await withEndpoint(.init(port: 0, timeout: .seconds(6), maxConnections: 1)) { client, _ in
            async let idle = client.exchange("")  // holds the only slot until the timeout
            try await Task.sleep(for: .seconds(1))  // accepted by then, even on a loaded machine
            let start = ContinuousClock.now
            let refused = try await client.get("/metrics")
            #expect(refused.raw.isEmpty)
            #expect(ContinuousClock.now - start < .seconds(4), "closed on accept, not after the 6 s timeout")
            _ = try await idle
            #expect(try await client.get("/metrics").statusLine == "HTTP/1.1 200 OK")
        }
    }
}
