import MetricsTestKit
import NIOCore
import NIOEmbedded
import Testing
@testable import WattlineTLS

/// TLSHandler reports each handshake exactly once, by result, with its duration.
@Suite struct TLSHandshakeMetricsTests {
    let certificates = TestCertificates.shared

    func makeChannel(_ role: TLSRole, _ metrics: TestMetrics, context: TLSContext? = nil, resuming session: TLSSession? = nil) throws -> EmbeddedChannel {
        let configuration = role == .server ? certificates.serverConfiguration() : certificates.clientConfiguration()
        let handler = TLSHandler(
            connection: try TLSConnection(context: context ?? TLSContext(configuration: configuration, role: role), resuming: session),
            handshakeTimeout: configuration.handshakeTimeout, metrics: TLSHandshakeMetrics(factory: metrics))
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.pipeline.syncOperations.addHandler(ObserverHandler(Observations(), echo: false))
        return channel
    }

    func shuttle(_ a: EmbeddedChannel, _ b: EmbeddedChannel) throws {
        var moved = true
        while moved {
            moved = false
            while let out = try a.readOutbound(as: ByteBuffer.self) {
                if b.isActive { try b.writeInbound(out) }
                moved = true
            }
            while let out = try b.readOutbound(as: ByteBuffer.self) {
                if a.isActive { try a.writeInbound(out) }
                moved = true
            }
        }
    }

    func handshakes(_ metrics: TestMetrics, _ result: String) -> Int64 {
        metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName, dimensions: [("result", result)])
    }

    @Test func completedHandshakeCountsOkOnce() throws {
        let serverMetrics = TestMetrics(), clientMetrics = TestMetrics()
        let server = try makeChannel(.server, serverMetrics)
        let client = try makeChannel(.client, clientMetrics)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        try shuttle(client, server)
        _ = try client.close().wait()
        try shuttle(client, server)

        for metrics in [serverMetrics, clientMetrics] {
            #expect(handshakes(metrics, "ok") == 1)
            #expect(metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName) == 1)
            #expect(try metrics.expectTimer(TLSHandshakeMetrics.durationName).values.count == 1)
        }
    }

    @Test func resumedHandshakeCountsResumed() throws {
        let serverMetrics = TestMetrics(), clientMetrics = TestMetrics()
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(), role: .server)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        var session: TLSSession?
        for _ in 0..<2 {
            let server = try makeChannel(.server, serverMetrics, context: serverContext)
            let client = try makeChannel(.client, clientMetrics, resuming: session)
            try server.connect(to: address).wait()
            try client.connect(to: address).wait()
            try shuttle(client, server)
            session = try client.pipeline.syncOperations.handler(type: TLSHandler.self).connection.session
            _ = try client.close().wait()
            try shuttle(client, server)
        }
        for metrics in [serverMetrics, clientMetrics] {
            #expect(handshakes(metrics, "ok") == 1)
            #expect(handshakes(metrics, "resumed") == 1)
        }
    }

    @Test func garbageCountsFailed() throws {
        let metrics = TestMetrics()
        let server = try makeChannel(.server, metrics)
        try server.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        _ = try? server.writeInbound(server.allocator.buffer(string: "GET / HTTP/1.1\r\nHost: example\r\n\r\n"))
        server.embeddedEventLoop.run()
        #expect(!server.isActive)
        #expect(handshakes(metrics, "failed") == 1)
        #expect(metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName) == 1)
    }

    @Test func silentPeerCountsTimeout() throws {
        let metrics = TestMetrics()
        let server = try makeChannel(.server, metrics)
        try server.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        server.embeddedEventLoop.advanceTime(by: .seconds(6))  // the test configuration says 5 s
        #expect(!server.isActive)
        #expect(handshakes(metrics, "timeout") == 1)
        #expect(metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName) == 1)
        #expect(try metrics.expectTimer(TLSHandshakeMetrics.durationName).values.first ?? 0 >= 5_000_000_000)
    }
}
