import NIOConcurrencyHelpers
import NIOCore
import WattlineProtos
import WattlineWire

/// One call as both sides of the client see it: the task that reads responses and writes requests,
/// and the event loop that frames them. Unary calls use it too, with a promise instead of streams.
final class ClientStreamCall: Sendable {
    enum Shape: Sendable {
        /// One request, one response: completes `response`.
        case unary(request: ByteBuffer, response: EventLoopPromise<ByteBuffer>)
        /// Requests written through `requests`, responses read from `responses`.
        case streaming(requests: OutboundMessages, responses: InboundMessages)
    }

    let header: RpcV1.CallHeader
    let shape: Shape
    /// The stream id, once the loop opened the call (nil while it waits for a free stream).
    let streamID: NIOLockedValueBox<UInt32?>

    init(header: RpcV1.CallHeader, shape: Shape, streamID: NIOLockedValueBox<UInt32?> = NIOLockedValueBox(nil)) {
        self.header = header
        self.shape = shape
        self.streamID = streamID
    }

    /// Ends the call on the task's side with `error`.
    func fail(_ error: RPCError) {
        switch shape {
        case .unary(_, let response):
            response.fail(error)
        case .streaming(let requests, let responses):
            requests.close(error)
            responses.fail(error)
        }
    }
}
