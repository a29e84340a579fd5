import NIOCore
import Testing
import WattlineClient
import WattlineProtos
import WattlineWire

/// The four call kinds end to end: the Swift SDK against the server over loopback sockets.
@Suite("Call kinds")
struct CallKindTests {
    @Test("unary, server-streaming, client-streaming and bidirectional calls carry every message in order")
    func everyKind() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }

        let echoed = try await client.unary(EchoV1.EchoService.Echo.self, .with { $0.payload = payload(100_000) })
        #expect(echoed.payload == payload(100_000), "a message larger than a frame and the window arrives whole")

        let indexes = try await client.serverStreaming(EchoV1.EchoService.Expand.self, .with {
            $0.count = 2_000
            $0.size = 512
        }) { responses in
            try await responses.reduce(into: [UInt32]()) { $0.append($1.index) }
        }
        #expect(indexes == Array(0..<2_000))

        let collected = try await client.clientStreaming(EchoV1.EchoService.Collect.self) { requests in
            for _ in 0..<5_000 { try await requests.write(.with { $0.payload = payload(1_024) }) }
        }
        #expect(collected.messages == 5_000)
        #expect(collected.bytes == 5_000 * 1_024)

        let answers = try await client.bidirectional(EchoV1.EchoService.Chat.self) { requests, responses in
            var iterator = responses.makeAsyncIterator()
            var answers: [[UInt8]] = []
            for index in 0..<200 {  // strict ping-pong: each answer before the next request
                try await requests.write(.with { $0.payload = Array("\(index)".utf8) })
                answers.append(try #require(try await iterator.next()).payload)
            }
            requests.finish()
            #expect(try await iterator.next() == nil, "the stream ends with OK after the half-close")
            return answers
        }
        #expect(answers == (0..<200).map { Array("\($0)".utf8) })
    }

    @Test("the generated typed stubs make the same four calls")
    func typedStubs() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let echo = EchoV1.EchoService.Client(client)
        #expect(try await echo.echo(.with { $0.payload = [1, 2, 3] }).payload == [1, 2, 3])
        let count = try await echo.expand(.with { $0.count = 10 }) { try await $0.reduce(0) { n, _ in n + 1 } }
        #expect(count == 10)
        let collected = try await echo.collect { for _ in 0..<7 { try await $0.write(.init()) } }
        #expect(collected.messages == 7)
        let answer = try await echo.chat { requests, responses in
            try await requests.write(.with { $0.payload = [4] })
            requests.finish()
            return try await responses.reduce(into: [[UInt8]]()) { $0.append($1.payload) }
        }
        #expect(answer == [[4]])
    }

    @Test("an empty stream and an empty message are calls too")
    func emptyStreams() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let none = try await client.clientStreaming(EchoV1.EchoService.Collect.self) { _ in }
        #expect(none.messages == 0)
        let empty = try await client.unary(EchoV1.EchoService.Echo.self, .init())
        #expect(empty.payload.isEmpty)
        let count = try await client.serverStreaming(EchoV1.EchoService.Expand.self, .with { $0.count = 0 }) { responses in
            try await responses.reduce(0) { count, _ in count + 1 }
        }
        #expect(count == 0)
    }

    @Test("a handler's error ends the stream with its status after the messages it wrote")
    func errorAfterMessages() async throws {
        let server = try await TestServer.start { router in
            router.serverStreaming(TelemetryV1.QueryService.ReadRaw.self) { _, responses, _ in
                for _ in 0..<3 { try await responses.write(TelemetryV1.ReadRawResponse()) }
                throw CallFailure(code: 9, "no signed consent")
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        var received = 0
        let error = await #expect(throws: RPCError.self) {
            try await client.serverStreaming(TelemetryV1.QueryService.ReadRaw.self, .init()) { responses in
                for try await _ in responses { received += 1 }
            }
        }
        #expect(received == 3)
        #expect(error?.code == 9)
        #expect(error?.message == "no signed consent")
    }

    @Test("1,000 concurrent streams on one connection")
    func thousandStreams() async throws {
        var options = ServerConnectionHandler.Options()
        options.settings.maxConcurrentStreams = 1_000
        let server = try await TestServer.start(options: options)
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        _ = try await client.unary(EchoV1.EchoService.Echo.self, .init())  // HELLO exchanged: the limit is known
        let opened = Counter()
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<1_000 {
                group.addTask {
                    try await client.bidirectional(EchoV1.EchoService.Chat.self) { requests, responses in
                        try await requests.write(.with { $0.payload = Array("\(index)".utf8) })
                        var iterator = responses.makeAsyncIterator()
                        let first = try #require(try await iterator.next())
                        opened.increment()
                        // Hold every stream open until all 1,000 are open at once.
                        while opened.current < 1_000 { try await Task.sleep(for: .milliseconds(5)) }
                        requests.finish()
                        #expect(try await iterator.next() == nil)
                        return first.payload == Array("\(index)".utf8) ? 1 : 0
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        #expect(total == 1_000)
        #expect(server.connections.all.count == 1, "all on one connection")
    }
}

