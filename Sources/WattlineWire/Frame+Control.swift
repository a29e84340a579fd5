import NIOCore
import WattlineProtos

extension Frame {
    /// A frame whose payload is a control message (`HELLO`, `OPEN`, `STATUS`, `CANCEL`, `GOAWAY`).
    public static func control(_ type: FrameType, streamID: UInt32 = 0, _ message: some ProtoMessage) -> Frame {
        Frame(type: type, streamID: streamID, payload: ByteBuffer(bytes: message.serializedBytes()))
    }

    /// Decodes the payload as the control message `M`; a bad encoding is a `PROTOCOL_ERROR`.
    public func control<M: ProtoMessage>(_ type: M.Type, limits: ProtoLimits = .default) throws(WireError) -> M {
        do {
            return try payload.withUnsafeReadableBytes { raw in
                Result { () throws(ProtoError) in try M(serializedBytes: raw, limits: limits) }
            }.get()
        } catch {
            throw .protocolError("\(self.type) payload is not a valid \(M.protoName): \(error.code)")
        }
    }
}
