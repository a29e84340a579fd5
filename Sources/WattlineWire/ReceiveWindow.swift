/// What a receiver keeps for one window (a stream's or the connection's, docs/protocol.md §5):
/// the bytes the peer may still send, and the bytes consumed since the last `WINDOW_UPDATE`,
/// given back in one update once they reach half of the initial window.
public struct ReceiveWindow: Sendable, Hashable {
    public let initial: Int
    public private(set) var window: FlowWindow
    private var consumedSinceUpdate = 0

    public init(initial: Int) {
        self.initial = initial
        window = FlowWindow(initial: initial)
    }

    /// `bytes` of `MESSAGE` payload arrived; more than the window allows is a `FLOW_CONTROL_ERROR`.
    public mutating func receive(_ bytes: Int) throws(WireError) {
        try window.consume(bytes)
    }

    /// `bytes` were consumed (or thrown away): the increment to send now, if one is due.
    public mutating func release(_ bytes: Int) -> UInt32? {
        consumedSinceUpdate += bytes
        guard consumedSinceUpdate > 0, consumedSinceUpdate >= initial / 2 else { return nil }
        defer { consumedSinceUpdate = 0 }
        try? window.grow(by: UInt32(consumedSinceUpdate))  // never past what was received
        return UInt32(consumedSinceUpdate)
    }
}
