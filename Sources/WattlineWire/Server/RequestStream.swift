import NIOCore
import WattlineProtos

/// The request messages of a client-streaming or bidirectional call, decoded as they are read.
/// Reading is what opens the client's flow-control window: a handler that stops reading stops
/// its client.
public struct RequestStream<Message: ProtoMessage>: AsyncSequence, Sendable {
    public typealias Element = Message
    let messages: InboundMessages
    let limits: ProtoLimits

    public struct AsyncIterator: AsyncIteratorProtocol {
        let messages: InboundMessages
        let limits: ProtoLimits

        /// The next request; nil once the client half-closed. Throws `CallFailure` 3 for a message
        /// that does not decode, `CancellationError` when the call was cancelled.
        public mutating func next() async throws -> Message? {
            guard let bytes = try await messages.next() else { return nil }
            return try decodeRequest(Message.self, bytes, limits: limits)
        }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(messages: messages, limits: limits) }
}

/// Writes the response messages of a server-streaming or bidirectional call. `write` suspends
/// while the client's flow-control window and the local buffer are full.
public struct ResponseWriter<Message: ProtoMessage>: Sendable {
    let messages: OutboundMessages

    /// Throws once the call has ended (cancelled by the client, deadline passed).
    public func write(_ message: Message) async throws {
        try await messages.write(ByteBuffer(bytes: message.serializedBytes()))
    }
}

/// Decodes one request message; a bad one is the client's error.
func decodeRequest<M: ProtoMessage>(_ type: M.Type, _ bytes: ByteBuffer, limits: ProtoLimits) throws(CallFailure) -> M {
    do throws(ProtoError) {
        return try bytes.withUnsafeReadableBytes { raw in
            Result { () throws(ProtoError) in try M(serializedBytes: raw, limits: limits) }
        }.get()
    } catch {
        throw CallFailure.invalidArgument("request is not a valid \(M.protoName): \(error.code)")
    }
}
