/// A call that did not end with OK: the server's (or the transport's) status code and message.
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    /// gRPC canonical status code (docs/protocol.md §7).
    public let code: UInt32
    public let message: String

    public init(code: UInt32, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "RPC status \(code): \(message)" }

    /// Whether an idempotent call may be retried.
    public var isRetryable: Bool { code == 14 }
}
