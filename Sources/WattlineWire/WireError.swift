import WattlineProtos

/// A violation of the wire protocol that ends the connection (docs/protocol.md §7): the side that
/// detects it sends `GOAWAY` with `reason` and closes.
public struct WireError: Error, Hashable, Sendable, CustomStringConvertible {
    public let reason: RpcV1.GoAwayReason
    /// What was wrong, for logs and the `GOAWAY` message; never contains payload bytes.
    public let message: String

    public init(_ reason: RpcV1.GoAwayReason, _ message: String) {
        self.reason = reason
        self.message = message
    }

    public var description: String { "\(reason): \(message)" }

    static func protocolError(_ message: String) -> WireError { WireError(.protocolError, message) }
}
