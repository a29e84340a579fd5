import NIOCore
import NIOHTTP1
import NIOPosix
import Prometheus
import Synchronization

/// The Prometheus scrape endpoint: a small HTTP/1.1 server on its own (by default loopback) port,
/// apart from the TLS service port, serving one registry at `GET /metrics`.
public final class MetricsEndpoint: Sendable {
    public struct Configuration: Sendable {
        public var host: String
        public var port: Int
        /// The most a client may send on one connection (request line, headers, any body).
        public var maxRequestBytes: Int
        /// The longest a connection may stay open, from accept to the end of the response.
        public var timeout: TimeAmount
        /// Connections open at once; more are closed on accept.
        public var maxConnections: Int

        public init(
            host: String = "127.0.0.1", port: Int = 9464, maxRequestBytes: Int = 8 * 1024,
            timeout: TimeAmount = .seconds(5), maxConnections: Int = 16
        ) {
            self.host = host
            self.port = port
            self.maxRequestBytes = maxRequestBytes
            self.timeout = timeout
            self.maxConnections = maxConnections
        }
    }

    private let channel: any Channel

    /// Where it listens (the bound port when `port` was 0).
    public var localAddress: SocketAddress? { channel.localAddress }

    private init(channel: any Channel) {
        self.channel = channel
    }

    /// Binds and starts serving `registry`.
    public static func start(
        configuration: Configuration = Configuration(), registry: PrometheusCollectorRegistry,
        group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) async throws -> MetricsEndpoint {
        let open = ConnectionCount()
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                guard open.admit(limit: configuration.maxConnections) else {
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in open.release() }
                return channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(ScrapeConnectionGuard(
                        maxRequestBytes: configuration.maxRequestBytes, timeout: configuration.timeout))
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .dropBytes)))
                    try pipeline.addHandler(HTTPResponseEncoder())
                    try pipeline.addHandler(MetricsHTTPHandler(registry: registry))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        return MetricsEndpoint(channel: channel)
    }

    /// Stops accepting; connections in progress finish within `timeout`.
    public func stop() async {
        try? await channel.close()
    }
}

/// Open connections, so that a burst of clients cannot hold unbounded sockets.
private final class ConnectionCount: Sendable {
    private let count = Atomic<Int>(0)

    func admit(limit: Int) -> Bool {
        if count.wrappingAdd(1, ordering: .relaxed).newValue <= limit { return true }
        count.wrappingSubtract(1, ordering: .relaxed)
        return false
    }

    func release() {
        count.wrappingSubtract(1, ordering: .relaxed)
    }
}
