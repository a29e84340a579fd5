import NIOCore
import NIOEmbedded
import Testing
@testable import WattlineTLS

/// TLSHandler on two EmbeddedChannels: deterministic checks of buffering, close and the timer.
@Suite struct TLSHandlerEmbeddedTests {
    let certificates = TestCertificates.shared

    func makeChannel(_ role: TLSRole, _ observations: Observations) throws -> EmbeddedChannel {
        let configuration = role == .server ? certificates.serverConfiguration() : certificates.clientConfiguration()
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(TLSHandler(context: TLSContext(configuration: configuration, role: role)))
        try channel.pipeline.syncOperations.addHandler(ObserverHandler(observations, echo: false))
        return channel
    }

    /// Moves ciphertext both ways until both channels are quiet.
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

    @Test func heldWritesAndCleanClose() throws {
        let clientSeen = Observations(), serverSeen = Observations()
        let client = try makeChannel(.client, clientSeen)
        let server = try makeChannel(.server, serverSeen)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try server.connect(to: address).wait()

        // Before the handshake: the write must be held, and nothing but the ClientHello may leave.
        var written = false
        client.writeAndFlush(client.allocator.buffer(string: "early reading")).assumeIsolated().whenSuccess { written = true }
        try client.connect(to: address).wait()
        #expect(!written)
        try shuttle(client, server)
        #expect(clientSeen.snapshot.handshakes.count == 1)
        #expect(written)
        #expect(serverSeen.snapshot.received == Array("early reading".utf8))

        // close() on the client sends close_notify; the server answers with its own and closes without error.
        var closed = false
        client.close().assumeIsolated().whenSuccess { closed = true }
        try shuttle(client, server)
        #expect(closed)
        #expect(!server.isActive)
        #expect(serverSeen.snapshot.errors.isEmpty)
        #expect(clientSeen.snapshot.errors.isEmpty)
    }

    @Test func handshakeTimerClosesTheChannel() throws {
        let serverSeen = Observations()
        let server = try makeChannel(.server, serverSeen)
        try server.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
        server.embeddedEventLoop.advanceTime(by: .seconds(4))
        #expect(server.isActive)
        server.embeddedEventLoop.advanceTime(by: .seconds(2))  // the test configuration says 5 s
        #expect(!server.isActive)
        #expect(serverSeen.tlsErrors.map(\.code) == [.handshakeTimedOut])
    }
}
