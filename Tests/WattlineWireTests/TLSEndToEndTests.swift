import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WattlineClient
import WattlineProtos
import WattlineTLS
import WattlineTestSupport
import WattlineWire

extension TLSHandshakeCompleted: PeerIdentityEvent {
    public var peerIdentity: PeerIdentity {
        PeerIdentity(certificateSubject: info.peerSubject, certificateSHA256: info.peerCertificateSHA256, tlsVersion: info.protocolVersion)
            .resumed(info.resumed)
    }
}

/// The protocol behind real TLS (OpenSSL), as wattline-server runs it: the SDK with and without a
/// client certificate, and hostile bytes at both layers.
@Suite("Wire protocol over TLS")
struct TLSEndToEndTests {
    /// The development PKI from Scripts/lib/dev-certs, made once per test process.
    static let certificates: String = {
        let directory = NSTemporaryDirectory() + "wattline-wire-tls-\(getpid())"
        let result = runSynchronously(["/bin/bash", TestDatabase.projectRoot + "/Scripts/lib/dev-certs", directory])
        precondition(result.status == 0, "dev-certs failed: \(result.output)")
        return directory
    }()

    static func server(
        requireClientCertificate: Bool = false, children: NIOLockedValueBox<[Channel]>? = nil,
        _ configure: (inout Router) -> Void = { _ in }
    ) async throws -> Channel {
        let tls = try TLSContext(configuration: TLSConfiguration(
            certificateChainPath: certificates + "/server.pem", privateKeyPath: certificates + "/server.key",
            trustedCAPath: certificates + "/ca.pem", requireClientCertificate: requireClientCertificate), role: .server)
        var router = Router()
        EchoService.register(in: &router)
        configure(&router)
        let frozen = router
        return try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                children?.withLockedValue { $0.append(channel) }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    static func client(port: Int, certificate: Bool) throws -> WattlineClient {
        let tls = try TLSContext(configuration: TLSConfiguration(
            certificateChainPath: certificate ? certificates + "/logger.pem" : nil,
            privateKeyPath: certificate ? certificates + "/logger.key" : nil,
            trustedCAPath: certificates + "/ca.pem", serverName: "localhost"), role: .client)
        return WattlineClient(host: "127.0.0.1", port: port, backoff: Backoff(initial: .milliseconds(10))) { channel in
            try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
        }
    }

    @Test("every call kind over TLS 1.3; a logger's client certificate reaches the handler as its identity")
    func callsAndIdentity() async throws {
        let server = try await Self.server { router in
            router.unary(HealthV1.HealthService.Check.self) { _, context in
                #expect(context.peer.tlsVersion == "TLSv1.3")
                #expect(context.peer.certificateSubject?.contains("CN=dev-logger") == true)
                #expect(context.peer.certificateSHA256?.count == 64)
                return .with { $0.status = .serving }
            }
        }
        defer { server.close(promise: nil) }
        let client = try Self.client(port: server.localAddress!.port!, certificate: true)
        defer { Task { await client.close() } }
        #expect(try await client.unary(HealthV1.HealthService.Check.self, .init()).status == .serving)
        let total = try await client.serverStreaming(EchoV1.EchoService.Expand.self, .with { $0.count = 300; $0.size = 4_000 }) {
            try await $0.reduce(0) { $0 + $1.payload.count }
        }
        #expect(total == 1_200_000)
        let collected = try await client.clientStreaming(EchoV1.EchoService.Collect.self) { requests in
            for _ in 0..<1_000 { try await requests.write(.with { $0.payload = payload(2_000) }) }
        }
        #expect(collected.bytes == 2_000_000)
    }

    @Test("the SDK's TLS client verifies the server, presents a logger certificate, and resumes its session on reconnect")
    func sdkTLSAndResumption() async throws {
        let resumed = NIOLockedValueBox<[Bool]>([])
        let children = NIOLockedValueBox<[Channel]>([])
        let server = try await Self.server(children: children) { router in
            router.unary(HealthV1.HealthService.Check.self) { _, context in
                resumed.withLockedValue { $0.append(context.peer.tlsResumed) }
                #expect(context.peer.certificateSubject?.contains("CN=dev-logger") == true)
                return .with { $0.status = .serving }
            }
        }
        defer { server.close(promise: nil) }
        let client = try WattlineClient(
            host: "127.0.0.1", port: server.localAddress!.port!, caPath: Self.certificates + "/ca.pem",
            clientCertificatePath: Self.certificates + "/logger.pem", clientKeyPath: Self.certificates + "/logger.key",
            backoff: Backoff(initial: .milliseconds(10)))
        defer { Task { await client.close() } }
        #expect(try await client.unary(HealthV1.HealthService.Check.self, .init()).status == .serving)
        // The server goes away; the SDK reconnects for the next call and offers its ticket.
        for connection in children.withLockedValue({ $0 }) {
            connection.pipeline.fireUserInboundEventTriggered(DrainRequest())
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(try await client.unary(HealthV1.HealthService.Check.self, .init(), idempotent: true).status == .serving)
        #expect(resumed.withLockedValue { $0 } == [false, true])
    }

    @Test("mutual TLS: a client without a certificate is refused when the server requires one")
    func mutualTLSRefused() async throws {
        let server = try await Self.server(requireClientCertificate: true)
        defer { server.close(promise: nil) }
        let anonymous = try Self.client(port: server.localAddress!.port!, certificate: false)
        defer { Task { await anonymous.close() } }
        let error = await #expect(throws: RPCError.self) {
            try await anonymous.unary(EchoV1.EchoService.Echo.self, .init(), options: CallOptions(timeout: .seconds(5), maxAttempts: 1))
        }
        #expect(error?.code == 14)
        let logger = try Self.client(port: server.localAddress!.port!, certificate: true)
        defer { Task { await logger.close() } }
        #expect(try await logger.unary(EchoV1.EchoService.Echo.self, .with { $0.payload = [1, 2] }).payload == [1, 2])
    }

    @Test("plain TCP to the TLS port, and random bytes inside TLS after the handshake, end the connection; the server serves on")
    func hostileBytes() async throws {
        let server = try await Self.server()
        defer { server.close(promise: nil) }
        let port = server.localAddress!.port!

        // Plain text: not TLS, closed without an answer that a Wattline client would accept.
        let plain = try await RawConnection.open(port: port)
        var hello = RawConnection.hello
        hello.writeBytes([UInt8](repeating: 0x41, count: 100))
        let (frames, closed) = try await plain.exchange(hello)
        #expect(closed)
        #expect(frames.isEmpty)

        // Inside TLS: random bytes instead of the preface are closed without a reply; after a valid
        // preface and HELLO they are a protocol error (GOAWAY) unless they happen to form frames.
        let tls = try TLSContext(configuration: TLSConfiguration(trustedCAPath: Self.certificates + "/ca.pem", serverName: "localhost"), role: .client)
        for prefix in [ByteBuffer(), RawConnection.hello] {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
                        return try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                    }
                }
            var bytes = prefix
            bytes.writeBytes((0..<4_096).map { _ in UInt8.random(in: 0...255) })
            let received: Int = try await channel.executeThenClose { inbound, outbound in
                try await outbound.write(bytes)
                var count = 0
                do {
                    for try await chunk in inbound { count += chunk.readableBytes }
                } catch {}  // the server may end with a reset: only that it ends matters here
                return count
            }
            #expect(prefix.readableBytes > 0 || received == 0, "a bad preface gets no reply")
        }
        let client = try Self.client(port: port, certificate: false)
        defer { Task { await client.close() } }
        #expect(try await client.unary(EchoV1.EchoService.Echo.self, .with { $0.payload = [3] }).payload == [3])
    }
}
