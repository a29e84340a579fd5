/// Bounds on what one decode may accept and allocate.
public struct ProtoLimits: Hashable, Sendable {
    /// Largest encoded message accepted, in bytes.
    public var maxMessageSize: Int
    /// Most memory the decoded C structures of one message may take, in bytes. Varints expand
    /// up to 8×, empty sub-messages more, so this guards against small hostile inputs too.
    public var maxDecodedSize: Int

    public init(maxMessageSize: Int = 4 << 20, maxDecodedSize: Int = 64 << 20) {
        self.maxMessageSize = maxMessageSize
        self.maxDecodedSize = maxDecodedSize
    }

    /// 4 MiB messages, 64 MiB decoded.
    public static let `default` = ProtoLimits()
}
