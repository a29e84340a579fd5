import NIOCore

/// The kind of a frame (docs/protocol.md §2).
public enum FrameType: UInt8, Sendable, CaseIterable {
    case hello = 0x00
    case open = 0x01
    case message = 0x02
    case halfClose = 0x03
    case status = 0x04
    case cancel = 0x05
    case windowUpdate = 0x06
    case ping = 0x07
    case goAway = 0x08

    /// Whether frames of this type belong to the connection (stream 0) rather than a call.
    var isConnectionLevel: Bool { self == .hello || self == .ping || self == .goAway }

    /// The flags this type defines; any other bit is a protocol error.
    var allowedFlags: FrameFlags {
        switch self {
        case .message: .more
        case .ping: .ack
        default: []
        }
    }
}

/// Frame flags; their meaning depends on the type.
public struct FrameFlags: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// `MESSAGE`: the message continues in the next `MESSAGE` frame of the stream.
    public static let more = FrameFlags(rawValue: 0x01)
    /// `PING`: this is the answer.
    public static let ack = FrameFlags(rawValue: 0x01)
}

/// One frame: a 9-byte header (24-bit length, type, flags, 31-bit stream id) and its payload.
public struct Frame: Sendable, Hashable {
    public static let headerSize = 9
    /// The largest `max_frame_size` the protocol allows (2^24 − 1).
    public static let maxPayloadLimit = (1 << 24) - 1

    public var type: FrameType
    public var flags: FrameFlags
    public var streamID: UInt32
    public var payload: ByteBuffer

    public init(type: FrameType, flags: FrameFlags = [], streamID: UInt32, payload: ByteBuffer = ByteBuffer()) {
        self.type = type
        self.flags = flags
        self.streamID = streamID
        self.payload = payload
    }

    /// Writes the frame; the payload must fit the peer's `max_frame_size` (the caller splits messages).
    public func write(into buffer: inout ByteBuffer) {
        precondition(payload.readableBytes <= Self.maxPayloadLimit, "frame payload over 2^24-1 bytes")
        let length = UInt32(payload.readableBytes)
        buffer.writeInteger(UInt8(truncatingIfNeeded: length >> 16))
        buffer.writeInteger(UInt16(truncatingIfNeeded: length))
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(streamID & 0x7FFF_FFFF)
        var payload = payload
        buffer.writeBuffer(&payload)
    }
}

/// The 8 bytes a client sends before its first frame: ASCII "WATTLINE".
public enum Preface {
    public static let bytes: [UInt8] = Array("WATTLINE".utf8)
}
