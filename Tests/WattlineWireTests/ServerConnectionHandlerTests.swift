import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WattlineProtos
import WattlineClient
import WattlineWire

/// A real server over loopback TCP (TLS goes in front of it in production), driven by raw frames
/// written as docs/protocol.md says, so the test is also a check of the spec.
@Suite("Server connection handler over sockets")
struct ServerConnectionHandlerTests {
    /// Starts a server with the health check and a slow method; returns its port and a stopper.
    private static func startServer() async throws -> (port: Int, channel: Channel) {
        var router = Router()
        router.unary(HealthV1.HealthService.Check.self) { request, _ in
            guard request.service.isEmpty || request.service == "wattline.health.v1.HealthService" else {
                throw CallFailure(code: 5, "unknown service \(request.service)")
            }
            return .with { $0.status = .serving }
        }
        router.unary(TelemetryV1.QueryService.ReadLatest.self) { _, _ in  // slow, for the deadline test
            try await Task.sleep(for: .seconds(10))
            return TelemetryV1.ReadLatestResponse()
        }
        let frozenRouter = router
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozenRouter))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return (channel.localAddress!.port!, channel)
    }

    /// Sends `bytes`, then reads frames until `count` have arrived or the server closes.
    private static func exchange(port: Int, _ bytes: [UInt8], expecting count: Int) async throws -> [Frame] {
        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return try await client.executeThenClose { inbound, outbound in
            try await outbound.write(ByteBuffer(bytes: bytes))
            var decoder = FrameDecoder(maxFrameSize: 1 << 20)
            var pending = ByteBuffer()
            var frames: [Frame] = []
            for try await var chunk in inbound {
                pending.writeBuffer(&chunk)
                while let frame = try decoder.next(from: &pending) { frames.append(frame) }
                if frames.count >= count { break }
            }
            return frames
        }
    }

    private static func unaryCall(stream: UInt32, method: String, request: some ProtoMessage, timeoutMs: UInt64 = 0) -> [UInt8] {
        var buffer = ByteBuffer()
        Frame.control(.open, streamID: stream, RpcV1.CallHeader.with { $0.method = method; $0.timeoutMs = timeoutMs }).write(into: &buffer)
        Frame(type: .message, streamID: stream, payload: ByteBuffer(bytes: request.serializedBytes())).write(into: &buffer)
        Frame(type: .halfClose, streamID: stream).write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    private static var hello: [UInt8] {
        var buffer = ByteBuffer(bytes: Preface.bytes)
        Frame.control(.hello, RpcV1.Hello.with { $0.versions = [1] }).write(into: &buffer)
        return Array(buffer.readableBytesView)
    }

    @Test("unary calls over a real socket: success, an error status, an unknown method, a deadline")
    func unary() async throws {
        let (port, channel) = try await Self.startServer()
        defer { channel.close(promise: nil) }
        let bytes = Self.hello
            + Self.unaryCall(stream: 1, method: HealthV1.HealthService.Check.path, request: HealthV1.CheckRequest())
            + Self.unaryCall(stream: 3, method: HealthV1.HealthService.Check.path, request: HealthV1.CheckRequest.with { $0.service = "nope" })
            + Self.unaryCall(stream: 5, method: "/wattline.nothing.v1.NoService/Nothing", request: HealthV1.CheckRequest())
            + Self.unaryCall(stream: 7, method: TelemetryV1.QueryService.ReadLatest.path, request: TelemetryV1.ReadLatestRequest(), timeoutMs: 200)
        let frames = try await Self.exchange(port: port, bytes, expecting: 6)
        #expect(frames.first?.type == .hello)
        let response = try #require(frames.first { $0.type == .message && $0.streamID == 1 })
        #expect(try HealthV1.CheckResponse(serializedBytes: Array(response.payload.readableBytesView)).status == .serving)
        func status(_ id: UInt32) throws -> RpcV1.CallStatus? {
            try frames.first { $0.type == .status && $0.streamID == id }?.control(RpcV1.CallStatus.self)
        }
        #expect(try status(1)?.code == 0)
        #expect(try status(3)?.code == 5)
        #expect(try status(5)?.code == 12)
        #expect(try status(7)?.code == 4)
    }

    @Test("a bad preface is closed without a reply; a protocol violation gets GOAWAY")
    func violations() async throws {
        let (port, channel) = try await Self.startServer()
        defer { channel.close(promise: nil) }
        let http = try await Self.exchange(port: port, Array("GET / HTTP/1.1\r\n\r\n".utf8), expecting: 1)
        #expect(http.isEmpty)
        let unknownType = try await Self.exchange(port: port, Self.hello + [0, 0, 0, 0x0f, 0, 0, 0, 0, 1], expecting: 2)
        let goAway = try #require(unknownType.first { $0.type == .goAway })
        #expect(try goAway.control(RpcV1.GoAway.self).reason == .protocolError)
    }
}

@Suite("Swift client SDK against the server")
struct ClientServerTests {
    @Test("typed unary calls, error statuses, deadlines and many concurrent calls on one connection")
    func unaryCalls() async throws {
        var router = Router()
        router.unary(HealthV1.HealthService.Check.self) { request, _ in
            guard request.service.isEmpty else { throw CallFailure(code: 5, "unknown service \(request.service)") }
            return .with { $0.status = .serving }
        }
        router.unary(TelemetryV1.QueryService.ReadLatest.self) { request, context in
            if request.channelIDs.isEmpty { try await Task.sleep(for: .seconds(10)) }
            return .with { $0.channelIDs = request.channelIDs; $0.values = request.channelIDs.map(Double.init) }
        }
        let frozen = router
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }
        let client = try await WattlineClient.connect(host: "127.0.0.1", port: server.localAddress!.port!)

        let health = try await client.unary(HealthV1.HealthService.Check.self, .init())
        #expect(health.status == .serving)
        let notFound = await #expect(throws: RPCError.self) {
            try await client.unary(HealthV1.HealthService.Check.self, .with { $0.service = "x" })
        }
        #expect(notFound?.code == 5)
        let late = await #expect(throws: RPCError.self) {
            try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .init(), timeout: .milliseconds(200))
        }
        #expect(late?.code == 4)

        // 200 concurrent calls multiplexed on the one connection, each with its own answer.
        let sums = try await withThrowingTaskGroup(of: Bool.self) { group in
            for index in 1...200 {
                group.addTask {
                    let ids = [UInt64(index), UInt64(index * 2)]
                    let response = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .with { $0.channelIDs = ids })
                    return response.channelIDs == ids && response.values == ids.map(Double.init)
                }
            }
            return try await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(sums.count == 200 && sums.allSatisfy { $0 })
        await client.close()
    }
}

@Suite("Graceful drain")
struct DrainTests {
    final class Children: @unchecked Sendable {
        private let lock = NIOLock()
        private var channels: [Channel] = []
        func add(_ channel: Channel) { lock.withLock { channels.append(channel) } }
        var all: [Channel] { lock.withLock { channels } }
    }

    @Test("GOAWAY first, the open call still completes, new calls are refused, then the connection closes")
    func drain() async throws {
        var router = Router()
        let started = Counter()
        router.unary(TelemetryV1.QueryService.ReadLatest.self) { request, _ in
            started.increment()
            try await Task.sleep(for: .milliseconds(1_500))
            return .with { $0.channelIDs = request.channelIDs }
        }
        let frozen = router
        let children = Children()
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                children.add(channel)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { server.close(promise: nil) }

        let client = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.localAddress!.port!) { channel in
                channel.eventLoop.makeCompletedFuture { try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel) }
            }
        let frames: [Frame] = try await client.executeThenClose { inbound, outbound in
            var out = ByteBuffer(bytes: Preface.bytes)
            Frame.control(.hello, RpcV1.Hello.with { $0.versions = [1] }).write(into: &out)
            Frame.control(.open, streamID: 1, RpcV1.CallHeader.with { $0.method = TelemetryV1.QueryService.ReadLatest.path }).write(into: &out)
            Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: TelemetryV1.ReadLatestRequest.with { $0.channelIDs = [42] }.serializedBytes())).write(into: &out)
            Frame(type: .halfClose, streamID: 1).write(into: &out)
            try await outbound.write(out)
            try await eventually { started.current == 1 }  // the call is in flight
            for child in children.all { child.pipeline.fireUserInboundEventTriggered(DrainRequest()) }
            try await Task.sleep(for: .milliseconds(50))
            var late = ByteBuffer()
            Frame.control(.open, streamID: 3, RpcV1.CallHeader.with { $0.method = TelemetryV1.QueryService.ReadLatest.path }).write(into: &late)
            try await outbound.write(late)
            var decoder = FrameDecoder()
            var pending = ByteBuffer()
            var frames: [Frame] = []
            for try await var chunk in inbound {  // ends when the server closes
                pending.writeBuffer(&chunk)
                while let frame = try decoder.next(from: &pending) { frames.append(frame) }
            }
            return frames
        }
        let types = frames.map(\.type)
        let goAway = try #require(types.firstIndex(of: .goAway))
        let response = try #require(frames.firstIndex { $0.type == .message && $0.streamID == 1 })
        #expect(goAway < response, "GOAWAY comes before the in-flight call's response")
        #expect(try frames[goAway].control(RpcV1.GoAway.self).lastStreamID == 1)
        #expect(try frames.first { $0.type == .status && $0.streamID == 1 }?.control(RpcV1.CallStatus.self).code == 0)
        #expect(try frames.first { $0.type == .status && $0.streamID == 3 }?.control(RpcV1.CallStatus.self).code == 14)
    }
}
