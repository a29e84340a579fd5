import NIOCore
import WattlineProtos

/// One call on a server connection, owned by the connection's event loop.
final class ServerCall {
    let id: UInt32
    let context: CallContext
    let handler: Router.RawHandler
    let started = ContinuousClock.now
    /// The single request of a unary or server-streaming call, once it arrived.
    var request: ByteBuffer?
    /// Requests of a client-streaming or bidirectional call, read by the handler.
    var inbound: InboundMessages?
    /// Responses written by a streaming handler.
    var outbound: OutboundMessages?
    var sends = SendQueue()
    var task: Task<Void, Never>?
    var deadlineTimer: Scheduled<Void>?
    /// How the handler ended; sent as `STATUS` once the queued responses are out.
    var status: RpcV1.CallStatus?

    init(id: UInt32, context: CallContext, handler: Router.RawHandler) {
        self.id = id
        self.context = context
        self.handler = handler
    }

    var elapsed: Duration { ContinuousClock.now - started }

    var takesOneRequest: Bool {
        if case .requestStream = handler { return false }
        return true
    }

    /// Stops everything the call still runs; returns the request bytes it received and nobody
    /// consumed, to be given back to the connection window.
    func stop(_ error: any Error) -> Int {
        deadlineTimer?.cancel()
        task?.cancel()
        outbound?.close(error)
        sends.removeAll()
        return inbound?.fail(error) ?? 0
    }
}

/// How a handler's task ended.
enum HandlerOutcome: Sendable {
    case response(ByteBuffer)
    case finished
    case failed(CallFailure)

    /// Runs a handler body and maps what it throws onto a status (docs/protocol.md §7).
    static func of(_ body: () async throws -> HandlerOutcome) async -> HandlerOutcome {
        do {
            return try await body()
        } catch let failure as CallFailure {
            return .failed(failure)
        } catch let convertible as any CallFailureConvertible {
            return .failed(convertible.callFailure)
        } catch is CancellationError {
            return .failed(.cancelled())
        } catch {
            return .failed(.internalError())  // the error's text may hold customer data: not sent
        }
    }
}

/// An error of a lower layer that knows which status it means (the store's errors: a lost
/// database is UNAVAILABLE, a concurrent duplicate ALREADY_EXISTS), so that every handler answers
/// it alike without wrapping its body. The status's message must not carry the error's text.
public protocol CallFailureConvertible: Error {
    var callFailure: CallFailure { get }
}
