/// A call that did not end with OK: the server's (or the transport's) status code and message.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// gRPC canonical status code (docs/protocol.md §7).
    public let code: UInt32
    public let message: String
    /// False when the server is known not to have started the call (refused before processing, or
    /// above a `GOAWAY`'s `last_stream_id`): then any call may be retried safely.
    public let wasProcessed: Bool

    public init(code: UInt32, _ message: String, wasProcessed: Bool = true) {
        self.code = code
        self.message = message
        self.wasProcessed = wasProcessed
    }

    public var description: String { "RPC status \(code): \(message)" }

    /// Whether an idempotent call may be retried (after a backoff).
    public var isRetryable: Bool { code == 14 }

    static func unavailable(_ message: String, wasProcessed: Bool = true) -> RPCError {
        RPCError(code: 14, message, wasProcessed: wasProcessed)
    }
}
