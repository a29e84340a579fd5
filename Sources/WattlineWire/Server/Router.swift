import NIOCore
import WattlineProtos

/// What a handler knows about its call.
public struct CallContext: Sendable {
    public let method: String
    /// When the call must be finished by (from the client's `timeout_ms`), if any.
    public let deadline: ContinuousClock.Instant?
    public let metadata: [RpcV1.MetadataEntry]
    /// The bearer credential, for the authentication interceptor; never log it.
    public let authorization: String
}

/// Why a call ends with a status other than OK while the connection carries on (docs/protocol.md
/// §7): thrown by handlers, and by the protocol layer for per-call limits. The server sends it as
/// `STATUS`, the client as `CANCEL`.
public struct CallFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// gRPC canonical status code.
    public let code: UInt32
    public let message: String

    public init(code: UInt32, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "status \(code): \(message)" }

    public static func resourceExhausted(_ message: String) -> CallFailure { CallFailure(code: 8, message) }
}

/// Methods by wire path, each decoding its request and encoding its response.
public struct Router: Sendable {
    typealias RawUnary = @Sendable (ByteBuffer, CallContext) async throws -> ByteBuffer
    private var unary: [String: RawUnary] = [:]

    public init() {}

    /// Registers a unary method with typed messages.
    public mutating func unary<M: ProtoMethod>(
        _ method: M.Type, _ handler: @escaping @Sendable (M.Request, CallContext) async throws -> M.Response
    ) {
        precondition(M.kind == .unary, "\(M.path) is not a unary method")
        let raw: RawUnary = { bytes, context in
            let request: M.Request
            do throws(ProtoError) {
                request = try bytes.withUnsafeReadableBytes { raw in
                    Result { () throws(ProtoError) in try M.Request(serializedBytes: raw, limits: .default) }
                }.get()
            } catch {
                throw CallFailure(code: 3, "request is not a valid \(M.Request.protoName): \(error.code)")
            }
            let response = try await handler(request, context)
            return ByteBuffer(bytes: response.serializedBytes())
        }
        unary[M.path] = raw
    }

    func unaryHandler(for path: String) -> RawUnary? { unary[path] }

    /// Every registered path.
    public var paths: [String] { Array(unary.keys).sorted() }
}
