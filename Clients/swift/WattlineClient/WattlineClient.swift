import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import WattlineProtos
import WattlineWire

/// A Wattline server and typed calls to it. The connection is opened on first use and again,
/// with jittered exponential backoff, after it was lost or the server went away.
///
/// ```swift
/// let client = WattlineClient(host: "127.0.0.1", port: 7443) { channel in
///     try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
/// }
/// let health = try await client.unary(HealthV1.HealthService.Check.self, .init(), timeout: .seconds(2))
/// try await client.serverStreaming(HealthV1.HealthService.Watch.self, .init()) { updates in
///     for try await update in updates { print(update.status) }
/// }
/// ```
public final class WattlineClient: Sendable {
    public let host: String
    public let port: Int
    private let configure: @Sendable (Channel) throws -> Void
    private let backoff: Backoff
    private let connectTimeout: TimeAmount
    private let state = NIOLockedValueBox(State())

    private struct State {
        var connection: ClientConnection?
        var connecting: Task<ClientConnection, any Error>?
        var failures = 0
        var retryAt: ContinuousClock.Instant?
        var closed = false
    }

    /// `configure` adds handlers in front of the protocol (TLS) on every new connection.
    public init(
        host: String, port: Int, backoff: Backoff = .default, connectTimeout: TimeAmount = .seconds(10),
        configure: @escaping @Sendable (Channel) throws -> Void = { _ in }
    ) {
        self.host = host
        self.port = port
        self.backoff = backoff
        self.connectTimeout = connectTimeout
        self.configure = configure
    }

    /// A client whose first connection is already open (or the reason it could not be).
    public static func connect(
        host: String, port: Int, backoff: Backoff = .default,
        configure: @escaping @Sendable (Channel) throws -> Void = { _ in }
    ) async throws -> WattlineClient {
        let client = WattlineClient(host: host, port: port, backoff: backoff, configure: configure)
        _ = try await client.connection()
        return client
    }

    /// Drops the current connection as a network failure would: its calls fail with UNAVAILABLE and
    /// the next call connects again (offering the previous TLS session, so it resumes).
    public func disconnect() async {
        let connection = state.withLockedValue { $0.connection }
        try? await connection?.channel.close()
    }

    /// Closes the connection; calls made afterwards fail with UNAVAILABLE.
    public func close() async {
        let connection = state.withLockedValue { state in
            state.closed = true
            state.connecting?.cancel()
            return state.connection
        }
        try? await connection?.channel.close()
    }

    // MARK: Calls

    /// Calls a unary method. Throws `RPCError` for a non-OK status, including 4 DEADLINE_EXCEEDED
    /// when `timeout` passes (the server is told the same deadline).
    public func unary<M: ProtoMethod>(
        _ method: M.Type, _ request: M.Request, timeout: Duration? = nil,
        metadata: [RpcV1.MetadataEntry] = [], authorization: String = "", idempotent: Bool = false
    ) async throws -> M.Response {
        try await unary(M.self, request, options: CallOptions(
            timeout: timeout, metadata: metadata, authorization: authorization, idempotent: idempotent))
    }

    public func unary<M: ProtoMethod>(_ method: M.Type, _ request: M.Request, options: CallOptions) async throws -> M.Response {
        precondition(M.kind == .unary, "\(M.path) is not a unary method")
        let bytes = ByteBuffer(bytes: request.serializedBytes())
        let response = try await withRetries(options) { options in
            let connection = try await self.connection()
            let promise = connection.channel.eventLoop.makePromise(of: ByteBuffer.self)
            let call = ClientStreamCall(header: options.header(method: M.path), shape: .unary(request: bytes, response: promise))
            let timeout = options.timeout.map(TimeAmount.init)
            connection.execute { $0.start(call, timeout: timeout) }
            return try await withTaskCancellationHandler {
                try await Self.rpcErrors { try await promise.futureResult.get() }
            } onCancel: {
                connection.execute { $0.cancel(call, code: 1, "cancelled") }
            }
        }
        return try decodeResponse(M.Response.self, response)
    }

    /// Calls a server-streaming method; `body` reads the responses.
    public func serverStreaming<M: ProtoMethod, Result>(
        _ method: M.Type, _ request: M.Request, options: CallOptions = CallOptions(),
        _ body: (ResponseStream<M.Response>) async throws -> Result
    ) async throws -> Result {
        precondition(M.kind == .serverStreaming, "\(M.path) is not a server-streaming method")
        return try await stream(M.self, options) { requests, responses in
            try await requests.write(request)
            requests.finish()
            return try await body(responses)
        }
    }

    /// Calls a client-streaming method; `body` writes the requests, then the response is returned.
    public func clientStreaming<M: ProtoMethod>(
        _ method: M.Type, options: CallOptions = CallOptions(),
        _ body: (RequestWriter<M.Request>) async throws -> Void
    ) async throws -> M.Response {
        precondition(M.kind == .clientStreaming, "\(M.path) is not a client-streaming method")
        return try await stream(M.self, options) { requests, responses in
            try await body(requests)
            requests.finish()
            var iterator = responses.makeAsyncIterator()
            guard let response = try await iterator.next() else {
                throw RPCError(code: 13, "the server ended a client-streaming call without a response")
            }
            guard try await iterator.next() == nil else {
                throw RPCError(code: 13, "the server sent two responses to a client-streaming call")
            }
            return response
        }
    }

    /// Calls a bidirectional method; `body` writes requests and reads responses (concurrently, in
    /// a task group, if it needs to), and calls `finish()` on the writer when it has no more.
    public func bidirectional<M: ProtoMethod, Result>(
        _ method: M.Type, options: CallOptions = CallOptions(),
        _ body: (RequestWriter<M.Request>, ResponseStream<M.Response>) async throws -> Result
    ) async throws -> Result {
        precondition(M.kind == .bidirectionalStreaming, "\(M.path) is not a bidirectional method")
        return try await stream(M.self, options, body)
    }

    /// Runs one streaming call around `body`; the call is cancelled if `body` leaves it open.
    /// Only opening the connection is retried: requests may already have been processed after.
    private func stream<M: ProtoMethod, Result>(
        _ method: M.Type, _ options: CallOptions,
        _ body: (RequestWriter<M.Request>, ResponseStream<M.Response>) async throws -> Result
    ) async throws -> Result {
        let connection = try await withRetries(options) { _ in try await self.connection() }
        let streamID = NIOLockedValueBox<UInt32?>(nil)
        let responses = InboundMessages(reportThreshold: ClientConnectionHandler.settings.initialStreamWindow / 4) { bytes in
            connection.execute { $0.consumed(bytes, streamID: streamID.withLockedValue { $0 }) }
        }
        let requests = OutboundMessages {
            connection.execute { $0.requestsWritten(streamID: streamID.withLockedValue { $0 }) }
        }
        let call = ClientStreamCall(
            header: options.header(method: M.path), shape: .streaming(requests: requests, responses: responses),
            streamID: streamID)
        let timeout = options.timeout.map(TimeAmount.init)
        connection.execute { $0.start(call, timeout: timeout) }
        defer { connection.execute { $0.cancel(call, code: 1, "cancelled") } }  // no-op once the call ended
        return try await withTaskCancellationHandler {
            try await body(RequestWriter(messages: requests), ResponseStream(messages: responses))
        } onCancel: {
            connection.execute { $0.cancel(call, code: 1, "cancelled") }
        }
    }

    // MARK: Connection and retries

    /// The open connection, or a new one (after the backoff delay when the last attempt failed).
    func connection() async throws -> ClientConnection {
        enum Step { case ready(ClientConnection), wait(Task<ClientConnection, any Error>) }
        let step = try state.withLockedValue { state throws -> Step in
            guard !state.closed else { throw RPCError.unavailable("the client is closed", wasProcessed: false) }
            if let connection = state.connection, connection.isUsable { return .ready(connection) }
            if let connecting = state.connecting { return .wait(connecting) }
            let task = reconnect(after: state.retryAt.map { $0 - ContinuousClock.now })
            state.connecting = task
            return .wait(task)
        }
        switch step {
        case .ready(let connection): return connection
        case .wait(let task): return try await task.value
        }
    }

    /// One connection attempt, shared by every call waiting for it.
    private func reconnect(after wait: Duration?) -> Task<ClientConnection, any Error> {
        Task { [host, port, connectTimeout, configure, backoff, state] in
            if let wait, wait > .zero { try await Task.sleep(for: wait) }
            do {
                let connection = try await ClientConnection.connect(
                    host: host, port: port, timeout: connectTimeout, configure: configure)
                state.withLockedValue {
                    $0.connection = connection
                    $0.connecting = nil
                    $0.failures = 0
                    $0.retryAt = nil
                }
                return connection
            } catch {
                state.withLockedValue {
                    $0.connecting = nil
                    $0.failures += 1
                    $0.retryAt = ContinuousClock.now + backoff.delay(attempt: $0.failures)
                }
                throw RPCError.unavailable("cannot connect to \(host):\(port): \(error)", wasProcessed: false)
            }
        }
    }

    /// Runs `attempt` until it succeeds, fails for good, or the time or attempts run out. Any call
    /// the server did not process is retried; idempotent ones also after UNAVAILABLE.
    private func withRetries<Result>(
        _ options: CallOptions, _ attempt: (CallOptions) async throws -> Result
    ) async throws -> Result {
        let deadline = options.timeout.map { ContinuousClock.now + $0 }
        var tries = 0
        while true {
            tries += 1
            var current = options
            if let deadline {
                current.timeout = deadline - ContinuousClock.now
                guard current.timeout! > .zero else { throw RPCError(code: 4, "deadline exceeded") }
            }
            do {
                return try await attempt(current)
            } catch let error as RPCError {
                let retryable = !error.wasProcessed || (options.idempotent && error.isRetryable)
                let delay = backoff.delay(attempt: tries)
                guard retryable, tries < options.maxAttempts, !Task.isCancelled,
                      deadline.map({ ContinuousClock.now + delay < $0 }) ?? true
                else { throw error }
                try await Task.sleep(for: delay)
            }
        }
    }

    private static func rpcErrors<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as RPCError {
            throw error
        } catch {
            throw RPCError.unavailable("connection failed: \(error)")
        }
    }
}
