import NIOCore
import NIOPosix

/// A raw TCP client for the metrics endpoint: sends bytes as given, returns everything the server
/// sent once the server closes, so tests see exactly what is on the wire.
struct ScrapeClient {
    let address: SocketAddress

    struct Reply {
        let raw: String
        // "\r\n" is one Character in Swift.
        var statusLine: Substring { raw.prefix { $0 != "\r\n" } }
        var head: Substring { raw.split(separator: "\r\n\r\n", maxSplits: 1).first ?? "" }
        var body: Substring { raw.split(separator: "\r\n\r\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().first ?? "" }
        func header(_ name: String) -> Substring? {
            head.split(separator: "\r\n").dropFirst().first { $0.lowercased().hasPrefix(name.lowercased() + ":") }
                .map { $0.dropFirst(name.count + 1).drop { $0 == " " } }
        }
    }

    /// Sends `request` (nothing if empty) and waits for the server to close the connection.
    func exchange(_ request: String) async throws -> Reply {
        let done = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: [UInt8].self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(done)) }
            }
            .connect(to: address).get()
        // The server may close first (a refused connection): what it sent is the answer either way.
        if !request.isEmpty { try? await channel.writeAndFlush(channel.allocator.buffer(string: request)) }
        return Reply(raw: String(decoding: try await done.futureResult.get(), as: UTF8.self))
    }

    func get(_ path: String) async throws -> Reply {
        try await exchange("GET \(path) HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\n\r\n")
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        private var received: [UInt8] = []
        private let done: EventLoopPromise<[UInt8]>

        init(_ done: EventLoopPromise<[UInt8]>) { self.done = done }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += unwrapInboundIn(data).readableBytesView
        }

        func channelInactive(context: ChannelHandlerContext) {
            done.succeed(received)
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            context.close(promise: nil)  // e.g. a reset: report what arrived before it
        }
    }
}
