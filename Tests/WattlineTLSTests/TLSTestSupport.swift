import Foundation
import WattlineTestSupport
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import WattlineTLS

/// An ECDSA P-256 CA plus server and client certificates, made once per test process with the openssl CLI.
struct TestCertificates: Sendable {
    let directory: String
    var caPath: String { directory + "/ca.pem" }
    var serverCertPath: String { directory + "/server.pem" }
    var serverKeyPath: String { directory + "/server.key" }
    var clientCertPath: String { directory + "/client.pem" }
    var clientKeyPath: String { directory + "/client.key" }
    /// An RSA server certificate, so RSA-key-exchange suites are possible in principle and only our policy refuses them.
    var rsaServerCertPath: String { directory + "/rsa-server.pem" }
    var rsaServerKeyPath: String { directory + "/rsa-server.key" }

    static let shared: TestCertificates = {
        do { return try generate() } catch { fatalError("certificate generation failed: \(error)") }
    }()

    private static func generate() throws -> TestCertificates {
        let dir = NSTemporaryDirectory() + "wattline-tls-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try """
            [req]
            distinguished_name = dn
            prompt = no
            [dn]
            CN = Wattline Test CA
            [v3_ca]
            basicConstraints = critical,CA:TRUE
            keyUsage = critical,keyCertSign,cRLSign
            subjectKeyIdentifier = hash
            """.write(toFile: dir + "/ca.cnf", atomically: true, encoding: .utf8)
        try """
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = serverAuth
            subjectAltName = DNS:localhost,IP:127.0.0.1
            """.write(toFile: dir + "/server.ext", atomically: true, encoding: .utf8)
        try """
            basicConstraints = CA:FALSE
            keyUsage = critical,digitalSignature
            extendedKeyUsage = clientAuth
            """.write(toFile: dir + "/client.ext", atomically: true, encoding: .utf8)
        func openssl(_ arguments: String...) throws {
            let result = runSynchronously(["/usr/bin/openssl"] + arguments, in: dir)
            guard result.status == 0 else { throw TLSError(.internalError, "openssl \(arguments): \(result.output)") }
        }
        try openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
        try openssl("req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "2",
                    "-config", "ca.cnf", "-extensions", "v3_ca", "-out", "ca.pem")
        for (name, subject) in [("server", "/CN=localhost"), ("client", "/CN=meter-gateway-7")] {
            try openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name).key")
            try openssl("req", "-new", "-key", "\(name).key", "-subj", subject, "-out", "\(name).csr")
            try openssl("x509", "-req", "-in", "\(name).csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                        "-sha256", "-days", "2", "-extfile", "\(name).ext", "-out", "\(name).pem")
        }
        try openssl("genrsa", "-out", "rsa-server.key", "2048")
        try openssl("req", "-new", "-key", "rsa-server.key", "-subj", "/CN=localhost", "-out", "rsa-server.csr")
        try openssl("x509", "-req", "-in", "rsa-server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                    "-sha256", "-days", "2", "-extfile", "server.ext", "-out", "rsa-server.pem")
        return TestCertificates(directory: dir)
    }

    func serverConfiguration(
        mutual: Bool = false, rsa: Bool = false, handshakeTimeout: TimeAmount = .seconds(5)
    ) -> TLSConfiguration {
        TLSConfiguration(
            certificateChainPath: rsa ? rsaServerCertPath : serverCertPath,
            privateKeyPath: rsa ? rsaServerKeyPath : serverKeyPath, trustedCAPath: caPath,
            requireClientCertificate: mutual, handshakeTimeout: handshakeTimeout)
    }

    func clientConfiguration(withCertificate: Bool = false, serverName: String = "localhost") -> TLSConfiguration {
        TLSConfiguration(
            certificateChainPath: withCertificate ? clientCertPath : nil,
            privateKeyPath: withCertificate ? clientKeyPath : nil,
            trustedCAPath: caPath, serverName: serverName)
    }
}


/// What one side of a connection saw, readable from the test's thread.
final class Observations: Sendable {
    struct State {
        var handshakes: [TLSPeerInfo] = []
        var errors: [any Error] = []
        var received: [UInt8] = []
        var closed = false
    }
    private let state = Mutex(State())
    var snapshot: State { state.withLock { $0 } }
    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
    var tlsErrors: [TLSError] { snapshot.errors.compactMap { $0 as? TLSError } }
}

/// Sits above TLSHandler: records plaintext, events and errors; optionally echoes.
final class ObserverHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    let observations: Observations
    let echo: Bool

    init(_ observations: Observations, echo: Bool) {
        self.observations = observations
        self.echo = echo
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        observations.update { $0.received += buffer.readableBytesView }
        if echo { context.writeAndFlush(data, promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted {
            observations.update { $0.handshakes.append(completed.info) }
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        observations.update { $0.errors.append(error) }
    }

    func channelInactive(context: ChannelHandlerContext) {
        observations.update { $0.closed = true }
        context.fireChannelInactive()
    }
}

/// A NIOPosix TLS echo server on 127.0.0.1 with an ephemeral port; every accepted connection reports into one Observations.
struct TestServer {
    let channel: any Channel
    let observations: Observations
    var port: Int { channel.localAddress!.port! }

    static func start(_ configuration: TLSConfiguration) async throws -> TestServer {
        let context = try TLSContext(configuration: configuration, role: .server)
        let observations = Observations()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(ObserverHandler(observations, echo: true))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return TestServer(channel: channel, observations: observations)
    }

    func stop() async throws {
        try await channel.close()
    }
}

/// Connects a TLS client (TLSHandler + ObserverHandler) to the server.
func connectTLSClient(
    port: Int, _ configuration: TLSConfiguration, context: TLSContext? = nil, resuming session: TLSSession? = nil
) async throws -> (any Channel, Observations) {
    let context = try context ?? TLSContext(configuration: configuration, role: .client)
    let observations = Observations()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context, resuming: session))
                try channel.pipeline.syncOperations.addHandler(ObserverHandler(observations, echo: false))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    return (channel, observations)
}

/// Connects a plain TCP client (no TLS) that records whatever comes back.
func connectPlainClient(port: Int) async throws -> (any Channel, Observations) {
    let observations = Observations()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(ObserverHandler(observations, echo: false))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    return (channel, observations)
}

/// Polls `condition` until it holds or `timeout` passes; returns whether it held.
@discardableResult
func waitUntil(timeout: Duration = .seconds(5), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Moves ciphertext between two in-memory connections until neither has anything to say.
func shuttle(_ a: TLSConnection, _ b: TLSConnection) {
    while a.hasOutput || b.hasOutput {
        b.receive(a.takeOutput())
        a.receive(b.takeOutput())
    }
}

/// Drives both handshakes to completion (or throws the first side's error).
func handshakeInMemory(client: TLSConnection, server: TLSConnection) throws {
    for _ in 0..<20 {
        let clientDone = try client.handshake()
        shuttle(client, server)
        let serverDone = try server.handshake()
        shuttle(client, server)
        if clientDone && serverDone { return }
    }
    throw TLSError(.internalError, "handshake did not converge")
}
