import NIOCore
import WattlineProtos
import WattlineWire

/// The responses of a server-streaming or bidirectional call. Iterating is what opens the server's
/// flow-control window: stop reading and the server stops sending. The sequence ends after the
/// server's OK status and throws `RPCError` for any other.
public struct ResponseStream<Message: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    let messages: InboundMessages

    public struct AsyncIterator: AsyncIteratorProtocol {
        let messages: InboundMessages

        public mutating func next() async throws -> Message? {
            guard let bytes = try await messages.next() else { return nil }
            return try decodeResponse(Message.self, bytes)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(messages: messages) }
}

/// Writes the requests of a client-streaming or bidirectional call; `write` suspends while the
/// server's window and the local buffer are full.
public struct RequestWriter<Message: ProtoMessage>: Sendable {
    let messages: OutboundMessages

    /// Throws `RPCError` once the call has ended.
    public func write(_ message: Message) async throws {
        try await messages.write(ByteBuffer(bytes: message.serializedBytes()))
    }

    /// No more requests (half-close); the responses go on.
    public func finish() {
        messages.finish()
    }
}

func decodeResponse<M: ProtoMessage>(_ type: M.Type, _ bytes: ByteBuffer) throws(RPCError) -> M {
    do throws(ProtoError) {
        return try bytes.withUnsafeReadableBytes { raw in
            Result { () throws(ProtoError) in try M(serializedBytes: raw, limits: .default) }
        }.get()
    } catch {
        throw RPCError(code: 13, "response is not a valid \(M.protoName): \(error.code)")
    }
}
