import WattlineProtos

/// One side's limits as announced in its `HELLO` (docs/protocol.md §1), with the protocol's
/// defaults for fields left at 0 and the allowed ranges enforced.
public struct WireSettings: Sendable, Hashable {
    public var maxFrameSize = 16_384
    public var maxMessageSize = 4 << 20
    public var initialStreamWindow = 65_535
    public var initialConnectionWindow = 1 << 20
    public var maxConcurrentStreams = 100
    public var maxMetadataSize = 8_192
    /// 0 = no keepalive pings.
    public var keepaliveIntervalMs = 0
    /// 0 = never closed for idleness.
    public var idleTimeoutMs = 0

    /// The protocol defaults, assumed for a peer until its `HELLO` arrives.
    public static let defaults = WireSettings()

    public init() {}

    /// The peer's settings from its `HELLO`; a value out of range is a connection error.
    public init(validating settings: RpcV1.Settings) throws(WireError) {
        func value(_ raw: UInt32, default fallback: Int, _ range: ClosedRange<Int>, _ name: String) throws(WireError) -> Int {
            guard raw != 0 else { return fallback }
            guard range.contains(Int(raw)) else {
                throw .protocolError("setting \(name) = \(raw) outside \(range.lowerBound)...\(range.upperBound)")
            }
            return Int(raw)
        }
        let maxWindow = Int(Int32.max)
        maxFrameSize = try value(settings.maxFrameSize, default: 16_384, 16_384...Frame.maxPayloadLimit, "max_frame_size")
        maxMessageSize = try value(settings.maxMessageSize, default: 4 << 20, 1...maxWindow, "max_message_size")
        initialStreamWindow = try value(settings.initialStreamWindow, default: 65_535, 1...maxWindow, "initial_stream_window")
        initialConnectionWindow = try value(
            settings.initialConnectionWindow, default: 1 << 20, 65_535...maxWindow, "initial_connection_window")
        maxConcurrentStreams = try value(settings.maxConcurrentStreams, default: 100, 1...maxWindow, "max_concurrent_streams")
        maxMetadataSize = try value(settings.maxMetadataSize, default: 8_192, 1...maxWindow, "max_metadata_size")
        keepaliveIntervalMs = try value(settings.keepaliveIntervalMs, default: 0, 5_000...maxWindow, "keepalive_interval_ms")
        idleTimeoutMs = try value(settings.idleTimeoutMs, default: 0, 1_000...maxWindow, "idle_timeout_ms")
    }

    /// The `Settings` message announcing these values.
    public var message: RpcV1.Settings {
        .with {
            $0.maxFrameSize = UInt32(maxFrameSize)
            $0.maxMessageSize = UInt32(maxMessageSize)
            $0.initialStreamWindow = UInt32(initialStreamWindow)
            $0.initialConnectionWindow = UInt32(initialConnectionWindow)
            $0.maxConcurrentStreams = UInt32(maxConcurrentStreams)
            $0.maxMetadataSize = UInt32(maxMetadataSize)
            $0.keepaliveIntervalMs = UInt32(keepaliveIntervalMs)
            $0.idleTimeoutMs = UInt32(idleTimeoutMs)
        }
    }
}

/// Protocol versions this implementation speaks.
public enum WireVersion {
    public static let supported: [UInt32] = [1]

    /// The version the server answers with: the highest both sides list (§1.3).
    public static func negotiate(offered: [UInt32], supported: [UInt32] = supported) throws(WireError) -> UInt32 {
        guard let chosen = Set(offered).intersection(supported).max() else {
            throw WireError(.unsupportedVersion, "no common protocol version: peer offers \(offered), we speak \(supported)")
        }
        return chosen
    }
}
