import NIOCore

/// Joins the `MESSAGE` frames of one stream into whole messages (§3.2), refusing a message past
/// `maxMessageSize` as soon as its fragments exceed it, so no oversize message is ever buffered.
public struct MessageAssembler: Sendable {
    public let maxMessageSize: Int
    private var partial: ByteBuffer?

    public init(maxMessageSize: Int) {
        self.maxMessageSize = maxMessageSize
    }

    /// Adds one `MESSAGE` frame's payload; returns the message when `more` is false.
    public mutating func append(_ fragment: ByteBuffer, more: Bool) throws(CallFailure) -> ByteBuffer? {
        var fragment = fragment
        let size = (partial?.readableBytes ?? 0) + fragment.readableBytes
        guard size <= maxMessageSize else {
            partial = nil
            throw CallFailure.resourceExhausted("message of more than \(maxMessageSize) bytes")
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
