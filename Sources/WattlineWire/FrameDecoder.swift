import NIOCore

/// Cuts a byte stream into frames and checks every rule that needs no connection state
/// (docs/protocol.md §2): length against `maxFrameSize` before any payload is buffered, known type,
/// allowed flags, reserved bit, stream 0 versus call streams, fixed payload sizes.
///
/// It never buffers more than one frame header plus `maxFrameSize` bytes beyond what it returns,
/// and it stops at the first error (the connection is then over).
public struct FrameDecoder: Sendable {
    /// The largest payload accepted: our advertised `max_frame_size`.
    public var maxFrameSize: Int
    private var failed = false

    public init(maxFrameSize: Int = 16_384) {
        precondition((16_384...Frame.maxPayloadLimit).contains(maxFrameSize), "max_frame_size out of range")
        self.maxFrameSize = maxFrameSize
    }

    /// The next complete frame at the reader index of `buffer`, consuming it; nil when more bytes
    /// are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(WireError) -> Frame? {
        guard !failed else { throw .protocolError("decoder used after a connection error") }
        guard let header = buffer.getBytes(at: buffer.readerIndex, length: min(Frame.headerSize, buffer.readableBytes)),
              header.count == Frame.headerSize
        else { return nil }
        let length = Int(header[0]) << 16 | Int(header[1]) << 8 | Int(header[2])
        do throws(WireError) {
            guard length <= maxFrameSize else {
                throw WireError(.frameTooLarge, "frame of \(length) bytes; max_frame_size is \(maxFrameSize)")
            }
            guard let type = FrameType(rawValue: header[3]) else {
                throw WireError.protocolError("unknown frame type 0x\(String(header[3], radix: 16))")
            }
            let flags = FrameFlags(rawValue: header[4])
            guard type.allowedFlags.isSuperset(of: flags) else {
                throw WireError.protocolError("\(type) frame with undefined flags 0x\(String(flags.rawValue, radix: 16))")
            }
            let rawStream = UInt32(header[5]) << 24 | UInt32(header[6]) << 16 | UInt32(header[7]) << 8 | UInt32(header[8])
            guard rawStream & 0x8000_0000 == 0 else { throw WireError.protocolError("reserved bit set in stream id") }
            try Self.checkStream(type, rawStream)
            try Self.checkLength(type, length)
            if type == .message, flags.contains(.more), length == 0 {
                // It would carry nothing and cost no window: only a flood could want it.
                throw WireError.protocolError("empty MESSAGE fragment with MORE")
            }
            guard buffer.readableBytes >= Frame.headerSize + length else { return nil }
            buffer.moveReaderIndex(forwardBy: Frame.headerSize)
            let payload = buffer.readSlice(length: length)!
            return Frame(type: type, flags: flags, streamID: rawStream, payload: payload)
        } catch {
            failed = true
            throw error
        }
    }

    private static func checkStream(_ type: FrameType, _ stream: UInt32) throws(WireError) {
        if type.isConnectionLevel, stream != 0 {
            throw .protocolError("\(type) frame on stream \(stream); it belongs to stream 0")
        }
        if !type.isConnectionLevel, type != .windowUpdate, stream == 0 {
            throw .protocolError("\(type) frame on stream 0")
        }
    }

    private static func checkLength(_ type: FrameType, _ length: Int) throws(WireError) {
        switch type {
        case .halfClose where length != 0: throw .protocolError("HALF_CLOSE with a \(length)-byte payload")
        case .ping where length != 8: throw .protocolError("PING payload of \(length) bytes, not 8")
        case .windowUpdate where length != 4: throw .protocolError("WINDOW_UPDATE payload of \(length) bytes, not 4")
        default: return
        }
    }
}

extension Frame {
    /// The increment of a `WINDOW_UPDATE` frame (1 … 2^31−1).
    public func windowIncrement() throws(WireError) -> UInt32 {
        guard type == .windowUpdate, let value = payload.getInteger(at: payload.readerIndex, as: UInt32.self) else {
            throw .protocolError("not a WINDOW_UPDATE frame")
        }
        guard value != 0, value & 0x8000_0000 == 0 else {
            throw WireError(.flowControlError, "WINDOW_UPDATE increment \(value) outside 1...2^31-1")
        }
        return value
    }

    /// A `WINDOW_UPDATE` frame.
    public static func windowUpdate(streamID: UInt32, increment: UInt32) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(increment)
        return Frame(type: .windowUpdate, streamID: streamID, payload: payload)
    }

    /// A `PING` frame (or its answer, with `ack`).
    public static func ping(_ opaque: UInt64, ack: Bool = false) -> Frame {
        var payload = ByteBuffer()
        payload.writeInteger(opaque)
        return Frame(type: .ping, flags: ack ? .ack : [], streamID: 0, payload: payload)
    }
}
