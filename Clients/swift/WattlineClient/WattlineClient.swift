import NIOCore
import NIOPosix
import WattlineProtos
import WattlineWire

/// A connection to a Wattline server and typed calls over it.
///
/// ```swift
/// let client = try await WattlineClient.connect(host: "127.0.0.1", port: 7443)
/// let health = try await client.unary(HealthV1.HealthService.Check.self, .init(), timeout: .seconds(2))
/// ```
public final class WattlineClient: Sendable {
    private let channel: Channel

    private init(channel: Channel) { self.channel = channel }

    /// Opens a connection. `configure` adds handlers in front of the protocol (TLS).
    public static func connect(
        host: String, port: Int,
        configure: @escaping @Sendable (Channel) throws -> Void = { _ in }
    ) async throws -> WattlineClient {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try configure(channel)
                    try channel.pipeline.syncOperations.addHandler(ClientConnectionHandler())
                }
            }
            .connect(host: host, port: port).get()
        return WattlineClient(channel: channel)
    }

    /// Calls a unary method. Throws `RPCError` for a non-OK status, including 4 DEADLINE_EXCEEDED
    /// when `timeout` passes (the server is told the same deadline).
    public func unary<M: ProtoMethod>(
        _ method: M.Type, _ request: M.Request, timeout: Duration? = nil,
        metadata: [RpcV1.MetadataEntry] = [], authorization: String = ""
    ) async throws -> M.Response {
        precondition(M.kind == .unary, "\(M.path) is not a unary method")
        let header = RpcV1.CallHeader.with {
            $0.method = M.path
            $0.metadata = metadata
            $0.authorization = authorization
            if let timeout {
                $0.timeoutMs = UInt64(max(1, timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000))
            }
        }
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        channel.writeAndFlush(UnaryCallRequest(header: header, request: ByteBuffer(bytes: request.serializedBytes()), promise: promise), promise: nil)
        let future = promise.futureResult
        let bytes: ByteBuffer
        if let timeout {
            bytes = try await withThrowingTaskGroup(of: ByteBuffer.self) { group in
                group.addTask { try await future.get() }
                group.addTask {
                    try await Task.sleep(for: timeout)
                    throw RPCError(code: 4, "deadline exceeded")
                }
                defer { group.cancelAll() }
                return try await group.next()!
            }
        } else {
            bytes = try await future.get()
        }
        do {
            return try M.Response(serializedBytes: Array(bytes.readableBytesView))
        } catch {
            throw RPCError(code: 13, "response is not a valid \(M.Response.protoName): \(error)")
        }
    }

    public func close() async {
        try? await channel.close()
    }
}
