import NIOCore
import WattlineProtos

/// The server's methods by wire path, registered with their generated types, and the interceptors
/// that run around every call.
public struct Router: Sendable {
    /// A method with its messages still encoded, as the connection runs it: it decodes a single
    /// request first, so that the interceptors it then runs see it (`CallContext.request`).
    enum RawHandler: Sendable {
        /// One request, one response.
        case unary(@Sendable (ByteBuffer, CallContext, [any ServerInterceptor]) async throws -> ByteBuffer)
        /// One request, then the handler writes responses (server-streaming).
        case singleRequest(@Sendable (ByteBuffer, OutboundMessages, CallContext, [any ServerInterceptor]) async throws -> Void)
        /// Requests as a stream; responses written (client-streaming returns one; bidirectional).
        case requestStream(@Sendable (InboundMessages, OutboundMessages, CallContext, [any ServerInterceptor]) async throws -> Void)
    }

    private var handlers: [String: (kind: ProtoCallKind, handler: RawHandler)] = [:]
    public private(set) var interceptors: [any ServerInterceptor] = []
    /// Bounds on decoding every request.
    public var limits = ProtoLimits.default

    public init() {}

    /// Adds an interceptor; the first added runs outermost.
    public mutating func intercept(_ interceptor: any ServerInterceptor) {
        interceptors.append(interceptor)
    }

    public mutating func unary<M: ProtoMethod>(
        _ method: M.Type, _ handler: @escaping @Sendable (M.Request, CallContext) async throws -> M.Response
    ) {
        precondition(M.kind == .unary, "\(M.path) is not a unary method")
        let limits = limits
        register(M.self, .unary { bytes, context, interceptors in
            let request = try decodeRequest(M.Request.self, bytes, limits: limits)
            let response = try await interceptors.run(context.with(request)) { try await handler(request, $0) }
            return ByteBuffer(bytes: response.serializedBytes())
        })
    }

    public mutating func serverStreaming<M: ProtoMethod>(
        _ method: M.Type,
        _ handler: @escaping @Sendable (M.Request, ResponseWriter<M.Response>, CallContext) async throws -> Void
    ) {
        precondition(M.kind == .serverStreaming, "\(M.path) is not a server-streaming method")
        let limits = limits
        register(M.self, .singleRequest { bytes, out, context, interceptors in
            let request = try decodeRequest(M.Request.self, bytes, limits: limits)
            try await interceptors.run(context.with(request)) { try await handler(request, ResponseWriter(messages: out), $0) }
        })
    }

    public mutating func clientStreaming<M: ProtoMethod>(
        _ method: M.Type,
        _ handler: @escaping @Sendable (RequestStream<M.Request>, CallContext) async throws -> M.Response
    ) {
        precondition(M.kind == .clientStreaming, "\(M.path) is not a client-streaming method")
        let limits = limits
        register(M.self, .requestStream { messages, out, context, interceptors in
            let response = try await interceptors.run(context) { try await handler(RequestStream(messages: messages, limits: limits), $0) }
            try await out.write(ByteBuffer(bytes: response.serializedBytes()))
        })
    }

    public mutating func bidirectional<M: ProtoMethod>(
        _ method: M.Type,
        _ handler: @escaping @Sendable (RequestStream<M.Request>, ResponseWriter<M.Response>, CallContext) async throws -> Void
    ) {
        precondition(M.kind == .bidirectionalStreaming, "\(M.path) is not a bidirectional method")
        let limits = limits
        register(M.self, .requestStream { messages, out, context, interceptors in
            try await interceptors.run(context) {
                try await handler(RequestStream(messages: messages, limits: limits), ResponseWriter(messages: out), $0)
            }
        })
    }

    private mutating func register<M: ProtoMethod>(_ method: M.Type, _ handler: RawHandler) {
        precondition(handlers[M.path] == nil, "\(M.path) registered twice")
        handlers[M.path] = (M.kind, handler)
    }

    func handler(for path: String) -> (kind: ProtoCallKind, handler: RawHandler)? { handlers[path] }

    /// Every registered path.
    public var paths: [String] { handlers.keys.sorted() }
}
