/// One flow-control window (docs/protocol.md §5): what the peer may still send us, or what we may
/// still send it, on one stream or the whole connection.
public struct FlowWindow: Sendable, Hashable {
    public static let maximum = Int(Int32.max)

    public private(set) var available: Int

    public init(initial: Int) {
        precondition((0...Self.maximum).contains(initial))
        available = initial
    }

    /// Takes `bytes` of `MESSAGE` payload; more than is available is a `FLOW_CONTROL_ERROR`.
    public mutating func consume(_ bytes: Int) throws(WireError) {
        guard bytes <= available else {
            throw WireError(.flowControlError, "\(bytes) bytes sent with only \(available) available in the window")
        }
        available -= bytes
    }

    /// Adds a `WINDOW_UPDATE` increment; a window past 2^31−1 is a `FLOW_CONTROL_ERROR`.
    public mutating func grow(by increment: UInt32) throws(WireError) {
        guard Int(increment) <= Self.maximum - available else {
            throw WireError(.flowControlError, "window update of \(increment) overflows the window of \(available)")
        }
        available += Int(increment)
    }
}
