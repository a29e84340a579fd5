import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One open connection: its channel and, bound to the channel's event loop, its handler.
final class ClientConnection: Sendable {
    let channel: Channel
    private let handler: NIOLoopBound<ClientConnectionHandler>
    private let goingAway: NIOLockedValueBox<Bool>

    private init(channel: Channel, handler: NIOLoopBound<ClientConnectionHandler>, goingAway: NIOLockedValueBox<Bool>) {
        self.channel = channel
        self.handler = handler
        self.goingAway = goingAway
    }

    /// Whether new calls may go on this connection.
    var isUsable: Bool { channel.isActive && !goingAway.withLockedValue { $0 } }

    /// Runs `body` with the handler on its event loop.
    func execute(_ body: @escaping @Sendable (ClientConnectionHandler) -> Void) {
        let handler = handler
        channel.eventLoop.execute { body(handler.value) }
    }

    static func connect(
        host: String, port: Int, timeout: TimeAmount,
        configure: @escaping @Sendable (Channel) throws -> Void
    ) async throws -> ClientConnection {
        let goingAway = NIOLockedValueBox(false)
        let bound = NIOLockedValueBox<NIOLoopBound<ClientConnectionHandler>?>(nil)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel)
                    let handler = ClientConnectionHandler(goingAway: goingAway)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    bound.withLockedValue { $0 = NIOLoopBound(handler, eventLoop: channel.eventLoop) }
                }
            }
            .connect(host: host, port: port).get()
        return ClientConnection(channel: channel, handler: bound.withLockedValue { $0! }, goingAway: goingAway)
    }
}
