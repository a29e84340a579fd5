import NIOCore

/// Why a single call must end while the connection carries on (docs/protocol.md §7): the server
/// answers with `STATUS`, the client with `CANCEL`, carrying `code`.
public struct StreamError: Error, Hashable, Sendable, CustomStringConvertible {
    /// gRPC canonical status code.
    public let code: UInt32
    public let message: String

    public init(code: UInt32, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "status \(code): \(message)" }

    public static func resourceExhausted(_ message: String) -> StreamError { StreamError(code: 8, message) }
}

/// Joins the `MESSAGE` frames of one stream into whole messages (§3.2), refusing a message past
/// `maxMessageSize` as soon as its fragments exceed it, so no oversize message is ever buffered.
public struct MessageAssembler: Sendable {
    public let maxMessageSize: Int
    private var partial: ByteBuffer?

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Adds one `MESSAGE` frame's payload; returns the message when `more` is false.
    public mutating func append(_ fragment: ByteBuffer, more: Bool) throws(StreamError) -> ByteBuffer? {
        var fragment = fragment
        let size = (partial?.readableBytes ?? 0) + fragment.readableBytes
        guard size <= maxMessageSize else {
            partial = nil
            throw .resourceExhausted("message of more than \(maxMessageSize) bytes")
        }
        if partial == nil, !more { return fragment }
        if partial == nil { partial = ByteBuffer() }
        partial!.writeBuffer(&fragment)
        guard !more else { return nil }
        defer { partial = nil }
        return partial
    }

    /// Whether a message is half received (a stream ending now is truncated).
    public var isMidMessage: Bool { partial != nil }
}
