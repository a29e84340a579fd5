import NIOConcurrencyHelpers
import NIOCore
import Testing
import WattlineClient
import WattlineProtos
import WattlineWire

/// Deadlines, cancellation, flow control and interceptors, over loopback sockets.
@Suite("Deadlines, cancellation, backpressure, interceptors")
struct CallControlTests {
    @Test("a deadline ends the call on both sides: the client reports DEADLINE_EXCEEDED, the handler is cancelled")
    func deadline() async throws {
        let cancelled = Counter()
        let server = try await TestServer.start { router in
            router.unary(TelemetryV1.QueryService.ReadLatest.self) { _, context in
                #expect(context.deadline != nil, "the handler sees the deadline")
                do {
                    try await Task.sleep(for: .seconds(10))
                } catch {
                    cancelled.increment()
                    throw error
                }
                return .init()
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let start = ContinuousClock.now
        let error = await #expect(throws: RPCError.self) {
            try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .init(), timeout: .milliseconds(300))
        }
        #expect(error?.code == 4)
        #expect(ContinuousClock.now - start < .seconds(2))
        try await eventually { cancelled.current == 1 }
        // The connection carries on.
        #expect(try await client.unary(EchoV1.EchoService.Echo.self, .with { $0.payload = [1] }).payload == [1])
    }

    @Test("a deadline also ends a stream the server keeps busy")
    func streamDeadline() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        var received = 0
        let error = await #expect(throws: RPCError.self) {
            try await client.serverStreaming(
                EchoV1.EchoService.Expand.self, .with { $0.count = 1_000; $0.intervalMs = 50 },
                options: CallOptions(timeout: .milliseconds(400))
            ) { responses in
                for try await _ in responses { received += 1 }
            }
        }
        #expect(error?.code == 4)
        #expect(received < 1_000, "cut short by the deadline (\(received) messages came first)")
    }

    @Test("the client cancelling a call stops its handler at once")
    func clientCancels() async throws {
        let stopped = Counter()
        let server = try await TestServer.start { router in
            router.serverStreaming(TelemetryV1.QueryService.ReadRaw.self) { _, responses, _ in
                defer { stopped.increment() }
                while true {
                    try await responses.write(TelemetryV1.ReadRawResponse())
                    try await Task.sleep(for: .milliseconds(5))
                }
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let call = Task {
            try await client.serverStreaming(TelemetryV1.QueryService.ReadRaw.self, .init()) { responses in
                for try await _ in responses {}
            }
        }
        try await Task.sleep(for: .milliseconds(100))
        call.cancel()
        _ = await call.result
        try await eventually { stopped.current == 1 }
        // Leaving the body early cancels too.
        let first = try await client.serverStreaming(TelemetryV1.QueryService.ReadRaw.self, .init()) { responses in
            try await responses.first { _ in true }
        }
        #expect(first != nil)
        try await eventually { stopped.current == 2 }
    }

    @Test("a slow handler holds its client back: the client's writes wait, memory stays bounded")
    func slowHandler() async throws {
        let consumed = Counter()
        let server = try await TestServer.start(echo: false) { router in
            router.clientStreaming(EchoV1.EchoService.Collect.self) { requests, _ in
                for try await _ in requests {
                    consumed.increment()
                    try await Task.sleep(for: .milliseconds(2))
                }
                return .init()
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let written = Counter()
        let call = Task {
            try await client.clientStreaming(EchoV1.EchoService.Collect.self) { requests in
                while true {
                    try await requests.write(.with { $0.payload = payload(1_024) })
                    written.increment()
                }
            }
        }
        for _ in 0..<5 {
            try await Task.sleep(for: .milliseconds(200))
            let ahead = written.current - consumed.current
            // Server stream window 64 KiB + the client's 64 KiB buffer, in ~1 KiB messages.
            #expect(ahead < 200, "\(ahead) messages written ahead of the handler")
        }
        #expect(consumed.current > 0, "the handler makes progress")
        call.cancel()
        _ = await call.result
    }

    @Test("a client that stops reading holds the server's writer back")
    func slowClient() async throws {
        let written = Counter()
        let server = try await TestServer.start(echo: false) { router in
            router.serverStreaming(EchoV1.EchoService.Expand.self) { _, responses, _ in
                let message = EchoV1.ExpandResponse.with { $0.payload = payload(1_024) }
                while true {
                    try await responses.write(message)
                    written.increment()
                }
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        try await client.serverStreaming(EchoV1.EchoService.Expand.self, .init()) { responses in
            var iterator = responses.makeAsyncIterator()
            _ = try await iterator.next()
            try await Task.sleep(for: .milliseconds(500))  // not reading
            let stalled = written.current
            try await Task.sleep(for: .milliseconds(300))
            #expect(written.current == stalled, "the writer is suspended")
            // Client window 256 KiB + server buffer 64 KiB, in ~1 KiB messages.
            #expect(stalled < 400, "\(stalled) messages written ahead of the reader")
            for _ in 0..<1_000 { _ = try await iterator.next() }  // reading lets it go on
            #expect(written.current > stalled + 500)
        }
    }

    @Test("responses left unread by calls that ended give their window back: the connection never starves")
    func unreadResponsesDoNotLeakWindow() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        // Each call's 15 single-frame responses fit its stream window, so the server ends it
        // (STATUS) while the body reads only the first: 30 × 225 KB unread, beyond the client's
        // 4 MiB connection window.
        for _ in 0..<30 {
            let first = try await client.serverStreaming(EchoV1.EchoService.Expand.self, .with {
                $0.count = 15
                $0.size = 15_000
            }, options: CallOptions(timeout: .seconds(10))) { responses in
                let first = try await responses.first { _ in true }
                try await Task.sleep(for: .milliseconds(30))  // the STATUS arrives meanwhile
                return first
            }
            #expect(first?.payload.count == 15_000)
        }
        let echoed = try await client.unary(
            EchoV1.EchoService.Echo.self, .with { $0.payload = payload(100_000) }, timeout: .seconds(10))
        #expect(echoed.payload.count == 100_000)
    }

    @Test("interceptors run around every call in order; one can refuse a call or name its principal")
    func interceptors() async throws {
        struct Authenticate: ServerInterceptor {
            func intercept<Result: Sendable>(
                _ context: CallContext, next: @Sendable (CallContext) async throws -> Result
            ) async throws -> Result {
                guard context.authorization == "let-me-in" else { throw CallFailure.unauthenticated("no valid credential") }
                var context = context
                context.principal = "user-7"
                return try await next(context)
            }
        }
        struct Record: ServerInterceptor {
            let calls: NIOLockedValueBox<[String]>
            func intercept<Result: Sendable>(
                _ context: CallContext, next: @Sendable (CallContext) async throws -> Result
            ) async throws -> Result {
                calls.withLockedValue { $0.append(context.method) }
                return try await next(context)
            }
        }
        let recorded = NIOLockedValueBox<[String]>([])
        let server = try await TestServer.start { router in
            router.intercept(Record(calls: recorded))
            router.intercept(Authenticate())
            router.unary(HealthV1.HealthService.Check.self) { request, context in
                #expect(context.principal as? String == "user-7")
                return .with { $0.status = .serving }
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        let refused = await #expect(throws: RPCError.self) {
            try await client.unary(HealthV1.HealthService.Check.self, .init())
        }
        #expect(refused?.code == 16)
        let ok = try await client.unary(HealthV1.HealthService.Check.self, .init(), authorization: "let-me-in")
        #expect(ok.status == .serving)
        #expect(recorded.withLockedValue { $0 } == [HealthV1.HealthService.Check.path, HealthV1.HealthService.Check.path])
    }

    @Test("metadata that breaks the rules is INVALID_ARGUMENT; good metadata reaches the handler")
    func metadata() async throws {
        let server = try await TestServer.start { router in
            router.unary(HealthV1.HealthService.Check.self) { _, context in
                #expect(context.metadata("x-request-id") == "abc-123")
                return .init()
            }
        }
        defer { Task { await server.stop() } }
        let client = server.client()
        defer { Task { await client.close() } }
        _ = try await client.unary(HealthV1.HealthService.Check.self, .init(), metadata: [
            .with { $0.key = "x-request-id"; $0.value = .text("abc-123") },
        ])
        for bad in [
            RpcV1.MetadataEntry.with { $0.key = "X-Upper"; $0.value = .text("v") },
            .with { $0.key = "x-bin"; $0.value = .text("text in a -bin key") },
            .with { $0.key = "wattline-internal"; $0.value = .text("reserved") },
            .with { $0.key = "x-line"; $0.value = .text("a\r\nb") },
        ] {
            let error = await #expect(throws: RPCError.self) {
                try await client.unary(HealthV1.HealthService.Check.self, .init(), metadata: [bad])
            }
            #expect(error?.code == 3)
        }
    }
}

/// Polls `condition` for up to 5 s.
func eventually(_ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(5)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("condition not met within 5 s")
            return
        }
        try await Task.sleep(for: .milliseconds(10))
    }
}
