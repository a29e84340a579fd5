import NIOCore
import NIOPosix
import Testing
@testable import WattlineTLS

/// TLSHandler on both ends of real loopback sockets.
@Suite struct TLSHandlerTests {
    let certificates = TestCertificates.shared

    @Test func echoRoundTripOverLoopback() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration())
        let (client, seen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration())

        // Written before the handshake finishes: the handler must hold it and send it afterwards.
        let payload = (0..<6000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try await client.writeAndFlush(client.allocator.buffer(bytes: payload))
        #expect(await waitUntil { seen.snapshot.received.count >= payload.count })
        #expect(seen.snapshot.received == payload)

        let info = try #require(seen.snapshot.handshakes.first)
        #expect(info.alpnProtocol == "wattline/1")
        #expect(info.protocolVersion == "TLSv1.3")
        #expect(server.observations.snapshot.handshakes.first?.alpnProtocol == "wattline/1")

        // Clean close: close_notify both ways, so neither side reports truncation.
        try await client.close()
        #expect(await waitUntil { server.observations.snapshot.closed })
        #expect(server.observations.snapshot.errors.isEmpty)
        #expect(seen.snapshot.errors.isEmpty)
        try await server.stop()
    }

    @Test func sessionResumptionOverLoopback() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration())
        let clientContext = try TLSContext(configuration: certificates.clientConfiguration(), role: .client)
        let (first, firstSeen) = try await connectTLSClient(port: server.port, clientContext.configuration, context: clientContext)
        try await first.writeAndFlush(first.allocator.buffer(string: "one"))
        #expect(await waitUntil { firstSeen.snapshot.received.count == 3 })  // the echo comes after the tickets
        let session = try await first.eventLoop.submit {
            try first.pipeline.syncOperations.handler(type: TLSHandler.self).connection.session
        }.get()
        try await first.close()
        #expect(firstSeen.snapshot.handshakes.first?.resumed == false)

        let (second, secondSeen) = try await connectTLSClient(
            port: server.port, clientContext.configuration, context: clientContext, resuming: session)
        #expect(await waitUntil { !secondSeen.snapshot.handshakes.isEmpty })
        #expect(secondSeen.snapshot.handshakes.first?.resumed == true)
        try await second.close()
        try await server.stop()
    }

    @Test func peerClosingWithoutCloseNotifyIsReported() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration())
        let (client, seen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration())
        #expect(await waitUntil { !seen.snapshot.handshakes.isEmpty && !server.observations.snapshot.handshakes.isEmpty })
        // Bypass TLSHandler: close the socket below it, no close_notify.
        try await client.eventLoop.submit {
            let tls = try client.pipeline.syncOperations.handler(type: TLSHandler.self)
            client.pipeline.syncOperations.removeHandler(tls, promise: nil)
        }.get()
        try await client.close()
        #expect(await waitUntil { server.observations.tlsErrors.contains { $0.code == .closedWithoutNotify } })
        try await server.stop()
    }

    @Test func mutualTLSAcceptsCASignedClient() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration(mutual: true))
        let (client, seen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration(withCertificate: true))
        #expect(await waitUntil { !server.observations.snapshot.handshakes.isEmpty })
        let identity = try #require(server.observations.snapshot.handshakes.first)
        #expect(identity.peerSubject?.contains("CN=meter-gateway-7") == true)
        #expect(identity.peerCertificateSHA256?.count == 64)
        try await client.writeAndFlush(client.allocator.buffer(string: "reading"))
        #expect(await waitUntil { seen.snapshot.received == Array("reading".utf8) })
        try await client.close()
        try await server.stop()
    }

    @Test func mutualTLSRefusesClientWithoutCertificate() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration(mutual: true))
        let (client, seen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration())
        #expect(await waitUntil { !server.observations.tlsErrors.isEmpty && !seen.tlsErrors.isEmpty })
        #expect(server.observations.snapshot.handshakes.isEmpty)
        #expect(server.observations.tlsErrors.first?.code == .certificateRejected)
        // TLS 1.3: the client finishes its half first, then receives the certificate_required alert.
        #expect(seen.tlsErrors.first?.code == .certificateRejected)
        #expect(await waitUntil { !client.isActive })
        try await server.stop()
    }

    enum Garbage: String, CaseIterable, Sendable {
        case plainHTTP, oneMegabyteOfRandomBytes
        var bytes: [UInt8] {
            switch self {
            case .plainHTTP: Array("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".utf8)
            case .oneMegabyteOfRandomBytes: (0..<1_048_576).map { _ in UInt8.random(in: 0...255) }
            }
        }
    }

    @Test(arguments: Garbage.allCases)
    func garbageIsRefusedWithoutCrashing(_ kind: Garbage) async throws {
        let garbage = kind.bytes
        let server = try await TestServer.start(certificates.serverConfiguration())
        let (plain, _) = try await connectPlainClient(port: server.port)
        plain.writeAndFlush(plain.allocator.buffer(bytes: garbage), promise: nil)  // may fail with a reset: fine
        #expect(await waitUntil { !plain.isActive })
        #expect(await waitUntil { !server.observations.tlsErrors.isEmpty })
        #expect(server.observations.snapshot.handshakes.isEmpty)
        if garbage.count < 100 {
            #expect(server.observations.tlsErrors.first?.code == .protocolViolation)
        }

        // The server is still healthy afterwards.
        let (client, seen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration())
        #expect(await waitUntil { !seen.snapshot.handshakes.isEmpty })
        try await client.close()
        try await server.stop()
    }

    @Test func silentClientIsClosedAfterHandshakeTimeout() async throws {
        let server = try await TestServer.start(certificates.serverConfiguration(handshakeTimeout: .milliseconds(300)))
        let started = ContinuousClock.now
        let (plain, _) = try await connectPlainClient(port: server.port)
        #expect(await waitUntil(timeout: .seconds(3)) { !plain.isActive })
        let elapsed = ContinuousClock.now - started
        #expect(elapsed >= .milliseconds(250))
        #expect(elapsed < .seconds(8), "closed by the 300 ms handshake timeout, not by the test's own limit")
        #expect(server.observations.tlsErrors.first?.code == .handshakeTimedOut)
        try await server.stop()
    }
}
