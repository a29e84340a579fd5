import NIOCore

/// The event loop's side of one call's outgoing messages: cuts them into `MESSAGE` frames as the
/// flow-control windows allow (docs/protocol.md §3.2, §5), keeping their order.
public struct SendQueue {
    /// A ring buffer: a call that always has something queued must not keep what it has sent.
    private var messages = CircularBuffer<ByteBuffer>()
    /// Size of the first message before any of it was sent.
    private var headSize = 0
    /// The writer has finished: nothing follows the queued messages.
    public private(set) var writerFinished = false

    public init() {}

    public var isEmpty: Bool { messages.isEmpty }

    /// Bytes of the message at the head still to send (nil when empty); a sender needs that much
    /// window, or some of it, to make progress.
    public var headRemaining: Int? { messages.first?.readableBytes }

    public mutating func enqueue(_ message: ByteBuffer) {
        if isEmpty { headSize = message.readableBytes }
        messages.append(message)
    }

    public mutating func enqueue(_ batch: OutboundMessages.Batch) {
        for message in batch.messages { enqueue(message) }
        if batch.finished { writerFinished = true }
    }

    /// Emits frames while `window` bytes allow (empty messages need none), at most `maxFrameSize`
    /// each. `completed` gets each fully sent message's size. Returns the payload bytes sent.
    public mutating func drain(
        streamID: UInt32, window: Int, maxFrameSize: Int,
        emit: (Frame) -> Void, completed: (Int) -> Void
    ) -> Int {
        var window = window
        var sent = 0
        while let first = messages.first {
            let remaining = first.readableBytes
            guard remaining == 0 || window > 0 else { break }
            let size = min(remaining, window, maxFrameSize)
            let index = messages.startIndex
            let slice = messages[index].readSlice(length: size)!
            let more = messages[index].readableBytes > 0
            emit(Frame(type: .message, flags: more ? .more : [], streamID: streamID, payload: slice))
            window -= size
            sent += size
            if !more {
                completed(headSize)
                messages.removeFirst()
                if let next = messages.first { headSize = next.readableBytes }
            }
        }
        return sent
    }

    /// Drops what was not sent (the call ended).
    public mutating func removeAll() {
        messages.removeAll()
    }
}
