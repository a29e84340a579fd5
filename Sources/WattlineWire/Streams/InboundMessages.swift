import NIOConcurrencyHelpers
import NIOCore

/// The messages received on one call, handed from the event loop to the one task that reads them.
///
/// Backpressure is the flow-control window (docs/protocol.md §5): the reader reports the bytes it
/// has consumed through `onConsumed`, and only then does the connection grant the peer more window.
/// So this queue never holds more than one stream window of bytes, whatever the peer does.
public final class InboundMessages: Sendable {
    private struct State {
        /// Messages with their flow-control cost: the bytes not yet given back to the windows.
        /// A ring buffer: a stream that never runs empty must not keep what it has handed over.
        var messages = CircularBuffer<(message: ByteBuffer, cost: Int)>()
        /// Set once no more messages will come: nil error for a clean end.
        var end: (any Error)??
        var waiter: CheckedContinuation<ByteBuffer?, any Error>?
        var unreported = 0
    }

    private let state = NIOLockedValueBox(State())
    private let reportThreshold: Int
    private let onConsumed: @Sendable (Int) -> Void

    /// `onConsumed` is called with consumed byte counts, batched to at least `reportThreshold`
    /// bytes or whatever was consumed when the queue runs empty.
    public init(reportThreshold: Int, onConsumed: @escaping @Sendable (Int) -> Void) {
        self.reportThreshold = max(1, reportThreshold)
        self.onConsumed = onConsumed
    }

    // MARK: Event loop side

    /// A whole message arrived; `cost` is the part of it the windows still owe (the fragments
    /// before its last frame were given back as they arrived, §5).
    public func yield(_ message: ByteBuffer, cost: Int) {
        let (waiter, report) = state.withLockedValue { state -> (CheckedContinuation<ByteBuffer?, any Error>?, Int) in
            guard state.end == nil else { return (nil, 0) }
            if let waiter = state.waiter {
                state.waiter = nil
                return (waiter, Self.account(cost, queueEmpty: true, &state, threshold: reportThreshold))
            }
            state.messages.append((message, cost))
            return (nil, 0)
        }
        waiter?.resume(returning: message)
        if report > 0 { onConsumed(report) }
    }

    /// No more messages: the peer half-closed (`error` nil) or the call ended (`error` is what the
    /// reader sees after the messages already queued).
    public func finish(_ error: (any Error)? = nil) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<ByteBuffer?, any Error>? in
            guard state.end == nil else { return nil }
            state.end = .some(error)
            defer { state.waiter = nil }
            return state.waiter
        }
        if let error { waiter?.resume(throwing: error) } else { waiter?.resume(returning: nil) }
    }

    /// Ends the stream at once, dropping queued messages (the call ended). Returns the bytes
    /// received and never reported as consumed, so the connection can give its window back.
    @discardableResult
    public func fail(_ error: any Error) -> Int {
        let (waiter, unconsumed) = state.withLockedValue { state -> (CheckedContinuation<ByteBuffer?, any Error>?, Int) in
            let dropped = state.messages.reduce(state.unreported) { $0 + $1.cost }
            state.messages.removeAll()
            state.unreported = 0
            if state.end == nil || state.end! == nil { state.end = .some(error) }
            defer { state.waiter = nil }
            return (state.waiter, dropped)
        }
        waiter?.resume(throwing: error)
        return unconsumed
    }

    // MARK: Reader side

    /// The next message, nil after a clean end; throws the call's error, or `CancellationError`
    /// when the reading task is cancelled.
    public func next() async throws -> ByteBuffer? {
        while true {
            switch poll() {
            case .message(let message, let report):
                if report > 0 { onConsumed(report) }
                return message
            case .end(let error):
                if let error { throw error }
                return nil
            case .wait:
                if let message = try await wait() { return message }
                // nil: something arrived while the waiter was being installed; poll again.
            }
        }
    }

    private enum Poll { case message(ByteBuffer, report: Int), end((any Error)?), wait }

    private func poll() -> Poll {
        state.withLockedValue { state -> Poll in
            if let (message, cost) = state.messages.popFirst() {
                let empty = state.messages.isEmpty
                return .message(message, report: Self.account(cost, queueEmpty: empty, &state, threshold: reportThreshold))
            }
            if let end = state.end { return .end(end) }
            return .wait
        }
    }

    /// Suspends until `yield` hands over a message (returned) or anything else happens (nil).
    private func wait() async throws -> ByteBuffer? {
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLockedValue { state -> Result<ByteBuffer?, any Error>? in
                    if !state.messages.isEmpty || state.end != nil { return .success(nil) }
                    if Task.isCancelled { return .failure(CancellationError()) }
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

    private static func account(_ bytes: Int, queueEmpty: Bool, _ state: inout State, threshold: Int) -> Int {
        state.unreported += bytes
        guard state.unreported >= threshold || (queueEmpty && state.unreported > 0) else { return 0 }
        defer { state.unreported = 0 }
        return state.unreported
    }
}
