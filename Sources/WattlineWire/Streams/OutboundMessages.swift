import NIOConcurrencyHelpers
import NIOCore

/// Messages a task writes on one call, waiting for the event loop to frame them.
///
/// The writer suspends while more than `highWatermark` bytes are unwritten (queued here or waiting
/// for flow-control window on the loop) and resumes below `lowWatermark`: a peer that stops reading
/// stops the writer, and memory stays bounded. Many writes share one hop to the event loop.
public final class OutboundMessages: Sendable {
    /// What the event loop takes in one go.
    public struct Batch: Sendable {
        public var messages: [ByteBuffer]
        /// The writer finished after these messages (half-close, or the handler's end).
        public var finished: Bool

        public init(messages: [ByteBuffer], finished: Bool) {
            self.messages = messages
            self.finished = finished
        }
    }

    private struct State {
        var queued: [ByteBuffer] = []
        var finished = false
        /// Bytes accepted from the writer and not yet written to the channel.
        var unwritten = 0
        var drainScheduled = false
        var closed: (any Error)?
        var waiter: CheckedContinuation<Void, any Error>?
    }

    /// Per-message overhead counted against the watermarks, so empty messages cannot pile up freely.
    public static let messageOverhead = Frame.headerSize

    private let state = NIOLockedValueBox(State())
    private let highWatermark: Int
    private let lowWatermark: Int
    private let scheduleDrain: @Sendable () -> Void

    /// `scheduleDrain` must (asynchronously) make the event loop call `take()`.
    public init(highWatermark: Int = 64 << 10, lowWatermark: Int = 16 << 10, scheduleDrain: @escaping @Sendable () -> Void) {
        self.highWatermark = highWatermark
        self.lowWatermark = lowWatermark
        self.scheduleDrain = scheduleDrain
    }

    // MARK: Writer side

    /// Queues one message; suspends while too much is unwritten. Throws once the call has ended.
    public func write(_ message: ByteBuffer) async throws {
        let (schedule, wait) = try state.withLockedValue { state throws -> (Bool, Bool) in
            if let closed = state.closed { throw closed }
            precondition(!state.finished, "write after finish")
            state.queued.append(message)
            state.unwritten += message.readableBytes + Self.messageOverhead
            defer { state.drainScheduled = true }
            return (!state.drainScheduled, state.unwritten > highWatermark)
        }
        if schedule { scheduleDrain() }
        if wait { try await waitForRoom() }
    }

    /// No more messages after those queued.
    public func finish() {
        let schedule = state.withLockedValue { state -> Bool in
            guard state.closed == nil, !state.finished else { return false }
            state.finished = true
            defer { state.drainScheduled = true }
            return !state.drainScheduled
        }
        if schedule { scheduleDrain() }
    }

    private func waitForRoom() async throws {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let ready = state.withLockedValue { state -> Result<Void, any Error>? in
                    if let closed = state.closed { return .failure(closed) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if state.unwritten <= lowWatermark { return .success(()) }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { state in
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(throwing: CancellationError())
        }
    }

    // MARK: Event loop side

    /// Everything queued since the last call.
    public func take() -> Batch {
        state.withLockedValue { state in
            state.drainScheduled = false
            defer { state.queued.removeAll(keepingCapacity: true) }
            return Batch(messages: state.queued, finished: state.finished)
        }
    }

    /// One message of `bytes` was written to the channel: may let the writer go on.
    public func written(_ bytes: Int) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            state.unwritten -= bytes + Self.messageOverhead
            guard state.unwritten <= lowWatermark else { return nil }
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume()
    }

    /// The call ended: the writer's next (or waiting) write throws `error`.
    public func close(_ error: any Error) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<Void, any Error>? in
            if state.closed == nil { state.closed = error }
            state.queued.removeAll()
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(throwing: error)
    }
}
