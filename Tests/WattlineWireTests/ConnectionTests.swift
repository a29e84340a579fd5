import NIOCore
import Testing
import WattlineClient
import WattlineProtos
import WattlineWire

/// Connection-level behaviour: timers, limits, refusal, reconnection (docs/protocol.md §6–§7).
@Suite("Connection lifecycle")
struct ConnectionTests {
    private static func goAway(_ frames: [Frame]) throws -> RpcV1.GoAway? {
        try frames.first { $0.type == .goAway }?.control(RpcV1.GoAway.self)
    }

    @Test("a silent peer is pinged, then closed with KEEPALIVE_TIMEOUT")
    func keepalive() async throws {
        var options = ServerConnectionHandler.Options()
        options.settings.keepaliveIntervalMs = 200
        options.keepaliveAnswerTimeout = .milliseconds(300)
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let raw = try await RawConnection.open(port: server.port)
        let (frames, closed) = try await raw.exchange(RawConnection.hello)
        #expect(closed)
        #expect(frames.contains { $0.type == .ping && !$0.flags.contains(.ack) })
        #expect(try Self.goAway(frames)?.reason == .keepaliveTimeout)
    }

    @Test("a peer that answers pings stays connected")
    func keepaliveAnswered() async throws {
        var options = ServerConnectionHandler.Options()
        options.settings.keepaliveIntervalMs = 100
        options.keepaliveAnswerTimeout = .seconds(3)
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let raw = try await RawConnection.open(port: server.port)
        let frames: [Frame] = try await raw.channel.executeThenClose { inbound, outbound in
            try await outbound.write(RawConnection.hello)
            var decoder = FrameDecoder()
            var pending = ByteBuffer()
            var frames: [Frame] = []
            var pings = 0
            for try await var chunk in inbound {
                pending.writeBuffer(&chunk)
                while let frame = try decoder.next(from: &pending) {
                    frames.append(frame)
                    if frame.type == .ping, !frame.flags.contains(.ack) {
                        pings += 1
                        var answer = ByteBuffer()
                        Frame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload).write(into: &answer)
                        try await outbound.write(answer)
                    }
                }
                if pings >= 5 { break }
            }
            return frames
        }
        #expect(frames.filter { $0.type == .ping }.count >= 5)
        #expect(try Self.goAway(frames) == nil)
    }

    @Test("a connection without calls is closed with IDLE_TIMEOUT; the SDK reconnects for the next call")
    func idle() async throws {
        var options = ServerConnectionHandler.Options()
        options.settings.idleTimeoutMs = 1_000
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let raw = try await RawConnection.open(port: server.port)
        let (frames, closed) = try await raw.exchange(RawConnection.hello)
        #expect(closed)
        #expect(try Self.goAway(frames)?.reason == .idleTimeout)

        let client = server.client()
        defer { Task { await client.close() } }
        _ = try await client.unary(EchoV1.EchoService.Echo.self, .init())
        try await Task.sleep(for: .milliseconds(1_500))  // idled out
        _ = try await client.unary(EchoV1.EchoService.Echo.self, .init())
        #expect(server.connections.all.count == 3, "the raw one, then two for the SDK")
    }

    @Test("a peer that never sends HELLO is closed after the HELLO timeout")
    func helloTimeout() async throws {
        var options = ServerConnectionHandler.Options()
        options.helloTimeout = .milliseconds(200)
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let raw = try await RawConnection.open(port: server.port)
        let start = ContinuousClock.now
        let (_, closed) = try await raw.exchange(ByteBuffer(bytes: Preface.bytes))
        #expect(closed)
        #expect(ContinuousClock.now - start < .seconds(3))
    }

    @Test("a ping flood ends with ENHANCE_YOUR_CALM")
    func pingFlood() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        var bytes = RawConnection.hello
        for index in 0..<30 { Frame.ping(UInt64(index)).write(into: &bytes) }
        let (frames, closed) = try await RawConnection.open(port: server.port).exchange(bytes)
        #expect(closed)
        #expect(frames.filter { $0.type == .ping && $0.flags.contains(.ack) }.count == 12, "a burst of 12 is answered")
        #expect(try Self.goAway(frames)?.reason == .enhanceYourCalm)
    }

    @Test("a half-sent frame followed by a close loses nothing else and crashes nothing")
    func truncatedFrame() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        var bytes = RawConnection.hello
        bytes.writeBytes([0, 0, 100, FrameType.message.rawValue, 0, 0, 0, 0, 1, 1, 2, 3])  // 3 of 100 bytes
        let raw = try await RawConnection.open(port: server.port)
        try await raw.channel.executeThenClose { _, outbound in try await outbound.write(bytes) }
        let client = server.client()
        defer { Task { await client.close() } }
        #expect(try await client.unary(EchoV1.EchoService.Echo.self, .with { $0.payload = [7] }).payload == [7])
    }

    @Test("a server at its connection limit answers GOAWAY CONNECTION_LIMIT; the SDK reports UNAVAILABLE, not processed")
    func connectionLimit() async throws {
        var options = ServerConnectionHandler.Options()
        options.refusal = WireError(.connectionLimit, "the server holds 10000 connections")
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let (frames, closed) = try await RawConnection.open(port: server.port).exchange(RawConnection.hello)
        #expect(closed)
        #expect(try Self.goAway(frames)?.reason == .connectionLimit)
        let client = server.client()
        defer { Task { await client.close() } }
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(EchoV1.EchoService.Echo.self, .init(), options: CallOptions(maxAttempts: 1))
        }
        #expect(error?.code == 14)
        #expect(error?.wasProcessed == false, "\(error?.message ?? "")")
    }

    @Test("the SDK reconnects after the server restarts, and retries an idempotent call while it is down")
    func reconnect() async throws {
        let first = try await TestServer.start()
        let port = first.port
        let client = first.client()
        defer { Task { await client.close() } }
        _ = try await client.unary(EchoV1.EchoService.Echo.self, .init())
        await first.stop()

        // Down: the call waits through backoff and retries until the server is back.
        let restart = Task {
            try await Task.sleep(for: .milliseconds(300))
            return try await TestServer.start(port: port)
        }
        let echoed = try await client.unary(
            EchoV1.EchoService.Echo.self, .with { $0.payload = [9] },
            options: CallOptions(timeout: .seconds(10), idempotent: true, maxAttempts: 20))
        #expect(echoed.payload == [9])
        await (try restart.value).stop()
    }

    @Test("after the drain timeout the calls still open end with UNAVAILABLE, then the connection closes")
    func drainDeadline() async throws {
        let server = try await TestServer.start { router in
            router.unary(TelemetryV1.QueryService.ReadLatest.self) { _, _ in
                try await Task.sleep(for: .seconds(30))
                return .init()
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let call = Task { try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .init()) }
        try await eventually { !server.connections.all.isEmpty }
        try await Task.sleep(for: .milliseconds(200))  // the call is open
        for connection in server.connections.all { connection.pipeline.fireUserInboundEventTriggered(DrainRequest()) }
        try await Task.sleep(for: .milliseconds(100))
        for connection in server.connections.all {
            connection.pipeline.fireUserInboundEventTriggered(DrainRequest(cancelOpenCalls: true))
        }
        let error = await #expect(throws: RPCError.self) { try await call.value }
        #expect(error?.code == 14)
        #expect(error?.message.contains("shutting down") == true)
    }
}
