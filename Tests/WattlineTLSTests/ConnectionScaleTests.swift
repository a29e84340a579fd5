import COpenSSL
import Foundation
import NIOCore
import NIOPosix
import Synchronization
import Testing
@testable import WattlineTLS

/// Many connections at once through one server: per-connection state must not leak between connections, and
/// nothing may fail only under load (accept backlog, descriptor limits, handshake timer, close_notify exchange).
@Suite struct ConnectionScaleTests {
    static let connections = 1_000
    /// Handshakes in flight at once; all connections stay open until every one has echoed.
    static let parallel = 100

    @Test(.timeLimit(.minutes(1)))
    func thousandConcurrentConnectionsHandshakeEchoAndCloseCleanly() async throws {
        // Both ends live in this process: two descriptors per connection.
        try #require(raiseOpenFileLimit() >= 2 * Self.connections + 100, "RLIMIT_NOFILE hard limit too low")
        let certificates = TestCertificates.shared
        let serverContext = try TLSContext(configuration: certificates.serverConfiguration(), role: .server)
        let clientContext = try TLSContext(configuration: certificates.clientConfiguration(), role: .client)
        let server = ScaleCounters()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 1_024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: serverContext))
                    try channel.pipeline.syncOperations.addHandler(CountingEchoHandler(server))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = listener.localAddress!.port!

        // Open all connections (at most `parallel` handshaking at once); each echoes its own payload.
        let clientErrors = ScaleCounters()
        let channels = try await withThrowingTaskGroup(of: (any Channel).self) { group in
            var opened: [any Channel] = []
            for index in 0..<Self.connections {
                if index >= Self.parallel, let channel = try await group.next() { opened.append(channel) }
                group.addTask {
                    try await connectAndEcho(port: port, context: clientContext, payload: Array("connection \(index)\n".utf8), errors: clientErrors)
                }
            }
            for try await channel in group { opened.append(channel) }
            return opened
        }

        #expect(channels.count == Self.connections)
        #expect(await waitUntil { server.snapshot.handshakes == Self.connections })
        // All of them at once: none has closed yet.
        #expect(server.snapshot.closed == 0)
        #expect(server.snapshot.bytesEchoed == (0..<Self.connections).reduce(0) { $0 + "connection \($1)\n".utf8.count })

        // Clean close: close_notify both ways, so neither side reports an error (truncation or otherwise).
        try await withThrowingTaskGroup(of: Void.self) { group in
            for channel in channels { group.addTask { try await channel.close() } }
            try await group.waitForAll()
        }
        #expect(await waitUntil(timeout: .seconds(10)) { server.snapshot.closed == Self.connections })
        #expect(server.snapshot.errors.isEmpty, "server errors: \(server.snapshot.errors.prefix(5))")
        #expect(clientErrors.snapshot.errors.isEmpty, "client errors: \(clientErrors.snapshot.errors.prefix(5))")
        // Nothing per connection outlives it in the contexts either: TLS 1.3 tickets are stateless on the server, and
        // the client keeps no cache (it would hold two tickets per connection, never looked up).
        #expect(SSL_CTX_ctrl(serverContext.ctx, SSL_CTRL_SESS_NUMBER, 0, nil) == 0)
        #expect(SSL_CTX_ctrl(clientContext.ctx, SSL_CTRL_SESS_NUMBER, 0, nil) == 0)
        try await listener.close()
    }
}

/// Connects, sends `payload` (held by TLSHandler until the handshake is done) and returns once it came back whole.
private func connectAndEcho(port: Int, context: TLSContext, payload: [UInt8], errors: ScaleCounters) async throws -> any Channel {
    let loop = MultiThreadedEventLoopGroup.singleton.next()
    let echoed = loop.makePromise(of: Void.self)
    let channel = try await ClientBootstrap(group: loop)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
                try channel.pipeline.syncOperations.addHandler(EchoCheckHandler(payload: payload, echoed: echoed, errors: errors))
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    try await echoed.futureResult.get()
    return channel
}

/// What the connections of one side saw, summed.
private final class ScaleCounters: Sendable {
    struct State {
        var handshakes = 0
        var closed = 0
        var bytesEchoed = 0
        var errors: [String] = []
    }
    private let state = Mutex(State())
    var snapshot: State { state.withLock { $0 } }
    func update(_ body: (inout State) -> Void) { state.withLock { body(&$0) } }
}

/// Server side: echoes everything and counts handshakes, bytes, closes and errors.
private final class CountingEchoHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let counters: ScaleCounters

    init(_ counters: ScaleCounters) { self.counters = counters }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let count = unwrapInboundIn(data).readableBytes
        counters.update { $0.bytesEchoed += count }
        context.writeAndFlush(data, promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted { counters.update { $0.handshakes += 1 } }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        counters.update { $0.errors.append("\(error)") }
    }

    func channelInactive(context: ChannelHandlerContext) {
        counters.update { $0.closed += 1 }
        context.fireChannelInactive()
    }
}

/// Client side: sends the payload when active and completes `echoed` once exactly that came back.
private final class EchoCheckHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer
    private let payload: [UInt8]
    private let echoed: EventLoopPromise<Void>
    private let errors: ScaleCounters
    private var received: [UInt8] = []
    private var finished = false

    init(payload: [UInt8], echoed: EventLoopPromise<Void>, errors: ScaleCounters) {
        self.payload = payload
        self.echoed = echoed
        self.errors = errors
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: payload)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        received += unwrapInboundIn(data).readableBytesView
        guard received.count >= payload.count else { return }
        finish(received == payload ? .success(()) : .failure(TLSError(.internalError, "echo mismatch: \(received.count) bytes")))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        errors.update { $0.errors.append("\(error)") }
        finish(.failure(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(TLSError(.internalError, "closed before the echo")))
        context.fireChannelInactive()
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !finished else { return }
        finished = true
        echoed.completeWith(result)
    }
}

/// Soft RLIMIT_NOFILE up to the hard limit; returns the soft limit now in force.
private func raiseOpenFileLimit() -> Int {
    var limit = rlimit()
    let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    guard getrlimit(resource, &limit) == 0 else { return 0 }
    limit.rlim_cur = limit.rlim_max
    _ = setrlimit(resource, &limit)
    _ = getrlimit(resource, &limit)
    return Int(limit.rlim_cur)
}
