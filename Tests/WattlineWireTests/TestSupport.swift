import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import WattlineClient
import WattlineProtos
import WattlineWire

/// A Wattline server on a loopback port, with the echo service and whatever a test adds.
struct TestServer {
    let channel: Channel
    let connections: Connections
    var port: Int { channel.localAddress!.port! }

    final class Connections: Sendable {
        private let channels = NIOLockedValueBox<[Channel]>([])
        func add(_ channel: Channel) { channels.withLockedValue { $0.append(channel) } }
        var all: [Channel] { channels.withLockedValue { $0 } }
    }

    static func start(
        port: Int = 0, options: ServerConnectionHandler.Options = .init(), echo: Bool = true,
        _ configure: (inout Router) -> Void = { _ in }
    ) async throws -> TestServer {
        var router = Router()
        if echo { EchoService.register(in: &router) }
        configure(&router)
        let frozen = router
        let connections = Connections()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .serverChannelOption(.backlog, value: 1_024)
            .childChannelInitializer { channel in
                connections.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen, options: options))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        return TestServer(channel: channel, connections: connections)
    }

    func client(backoff: Backoff = Backoff(initial: .milliseconds(20), maximum: .milliseconds(200))) -> WattlineClient {
        WattlineClient(host: "127.0.0.1", port: port, backoff: backoff)
    }

    /// Closes the listener and every connection (a crash, as the clients see it).
    func stop() async {
        try? await channel.close()
        for connection in connections.all { try? await connection.close() }
    }
}

/// A raw connection that speaks frames as docs/protocol.md describes them.
struct RawConnection {
    let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>

    static func open(port: Int) async throws -> RawConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawConnection(channel: channel)
    }

    static var hello: ByteBuffer {
        var buffer = ByteBuffer(bytes: Preface.bytes)
        Frame.control(.hello, RpcV1.Hello.with { $0.versions = [1] }).write(into: &buffer)
        return buffer
    }

    /// Writes `bytes`, then collects frames until `until` says stop or the server closes.
    func exchange(_ bytes: ByteBuffer, until done: @escaping ([Frame]) -> Bool = { _ in false }) async throws -> (frames: [Frame], closed: Bool) {
        try await channel.executeThenClose { inbound, outbound in
            // The server may have closed already (a timer fired): then only what it sent matters.
            if bytes.readableBytes > 0 { try? await outbound.write(bytes) }
            var decoder = FrameDecoder(maxFrameSize: 1 << 20)
            var pending = ByteBuffer()
            var frames: [Frame] = []
            do {
                for try await var chunk in inbound {
                    pending.writeBuffer(&chunk)
                    while let frame = try decoder.next(from: &pending) { frames.append(frame) }
                    if done(frames) { return (frames, false) }
                }
            } catch let error as IOError where error.errnoCode == ECONNRESET {
                // A reset after the server's last bytes: closed all the same.
            }
            return (frames, true)
        }
    }
}

/// A counter shared between a handler and its test.
final class Counter: Sendable {
    private let value = NIOLockedValueBox(0)
    func increment() { value.withLockedValue { $0 += 1 } }
    var current: Int { value.withLockedValue { $0 } }
}

func payload(_ size: Int) -> [UInt8] { [UInt8](repeating: 0xAB, count: size) }
