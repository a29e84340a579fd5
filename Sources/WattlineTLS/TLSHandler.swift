import NIOCore
import NIOTLS

/// TLS for one channel: ciphertext below, plaintext above. The byte work is `TLSConnection`'s; this type only
/// moves buffers, runs the handshake timer, holds writes until the handshake is done, and closes cleanly.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private enum State {
        case idle, handshaking, active, closing, closed
    }

    public let connection: TLSConnection
    private let handshakeTimeout: TimeAmount
    private var state = State.idle
    private var timeout: Scheduled<Void>?
    private var heldWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var heldFlush = false
    private let metrics: TLSHandshakeMetrics
    /// Set while a handshake runs; cleared when its outcome is reported, so it is reported once.
    private var handshakeStarted: NIODeadline?

    public init(connection: TLSConnection, handshakeTimeout: TimeAmount, metrics: TLSHandshakeMetrics = TLSHandshakeMetrics()) {
        self.connection = connection
        self.handshakeTimeout = handshakeTimeout
        self.metrics = metrics
    }

    public convenience init(context: TLSContext, resuming session: TLSSession? = nil) throws(TLSError) {
        self.init(
            connection: try TLSConnection(context: context, resuming: session),
            handshakeTimeout: context.configuration.handshakeTimeout)
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startHandshake(context: context) }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeout?.cancel()
        failHeldWrites(ChannelError.ioOnClosedChannel)
    }

    public func channelActive(context: ChannelHandlerContext) {
        startHandshake(context: context)
        context.fireChannelActive()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeout?.cancel()
        let previous = state
        state = .closed
        failHeldWrites(ChannelError.ioOnClosedChannel)
        switch previous {
        case .idle, .handshaking:
            let error = TLSError(.handshakeFailed, "connection closed during the handshake")
            recordHandshake(.failed, error: error, context: context)
            context.fireErrorCaught(error)
        case .active where !connection.receivedCloseNotify:
            // Without close_notify a truncation attack cannot be told from a normal end.
            context.fireErrorCaught(TLSError(.closedWithoutNotify, "peer closed the connection without close_notify"))
        default:
            break
        }
        context.fireChannelInactive()
    }

    private func startHandshake(context: ChannelHandlerContext) {
        guard state == .idle else { return }
        state = .handshaking
        handshakeStarted = context.eventLoop.now
        timeout = context.eventLoop.assumeIsolated().scheduleTask(in: handshakeTimeout) {
            guard self.state == .idle || self.state == .handshaking else { return }
            self.fail(context: context, TLSError(.handshakeTimedOut, "no handshake within \(self.handshakeTimeout)"))
        }
        advance(context: context)
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if state == .idle { startHandshake(context: context) }
        guard state == .handshaking || state == .active else { return }  // after failure or close: drop
        buffer.withUnsafeReadableBytes { connection.receive($0) }
        advance(context: context)
    }

    /// Runs the handshake and/or decryption as far as the input allows.
    private func advance(context: ChannelHandlerContext) {
        do {
            if state == .handshaking {
                let done = try connection.handshake()
                sendOutput(context: context)
                guard done else { return }
                completeHandshake(context: context)
            }
            guard state == .active else { return }
            let plaintext = try connection.readPlaintext()
            sendOutput(context: context)
            if !plaintext.isEmpty {
                context.fireChannelRead(wrapInboundOut(context.channel.allocator.buffer(bytes: plaintext)))
            }
            if connection.receivedCloseNotify && state == .active {
                // Answer the peer's close_notify with ours, then close.
                sendCloseNotifyThenClose(context: context, mode: .all, promise: nil)
            }
        } catch {
            fail(context: context, error)
        }
    }

    private func completeHandshake(context: ChannelHandlerContext) {
        state = .active
        timeout?.cancel()
        timeout = nil
        let info = connection.peerInfo
        recordHandshake(.ok, resumed: info.resumed, error: nil, context: context)
        context.fireUserInboundEventTriggered(TLSHandshakeCompleted(info: info))
        // Also NIOTLS's event, so ApplicationProtocolNegotiationHandler works on top of this handler.
        context.fireUserInboundEventTriggered(TLSUserEvent.handshakeCompleted(negotiatedProtocol: info.alpnProtocol))
        guard state == .active else { return }
        let writes = heldWrites
        heldWrites = []
        for (buffer, promise) in writes { encryptAndWrite(context: context, buffer, promise: promise) }
        if heldFlush && state == .active {
            heldFlush = false
            context.flush()
        }
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch state {
        case .idle, .handshaking:
            heldWrites.append((buffer, promise))
        case .active:
            encryptAndWrite(context: context, buffer, promise: promise)
        case .closing, .closed:
            promise?.fail(ChannelError.ioOnClosedChannel)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if state == .idle || state == .handshaking {
            heldFlush = true
        } else {
            context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if state == .active && mode == .all {
            sendCloseNotifyThenClose(context: context, mode: mode, promise: promise)
            return
        }
        timeout?.cancel()
        failHeldWrites(ChannelError.ioOnClosedChannel)
        context.close(mode: mode, promise: promise)
    }

    private func encryptAndWrite(context: ChannelHandlerContext, _ buffer: ByteBuffer, promise: EventLoopPromise<Void>?) {
        do {
            try connection.write(Array(buffer.readableBytesView))
            // The ciphertext carries the caller's promise: it completes when these records hit the socket.
            context.write(wrapOutboundOut(context.channel.allocator.buffer(bytes: connection.takeOutput())), promise: promise)
        } catch {
            promise?.fail(error)
            fail(context: context, error)
        }
    }

    /// Writes whatever OpenSSL produced (handshake messages, tickets, alerts) and flushes it.
    private func sendOutput(context: ChannelHandlerContext) {
        guard connection.hasOutput else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: connection.takeOutput())), promise: nil)
    }

    private func sendCloseNotifyThenClose(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        state = .closing
        connection.close()
        flushThenClose(context: context, mode: mode, promise: promise)
    }

    /// Closing with unsent data would drop it (close_notify, alerts), so close only once the write is done.
    private func flushThenClose(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard connection.hasOutput else {
            context.close(mode: mode, promise: promise)
            return
        }
        let output = context.channel.allocator.buffer(bytes: connection.takeOutput())
        context.writeAndFlush(wrapOutboundOut(output)).assumeIsolated().whenComplete { _ in
            context.close(mode: mode, promise: promise)
        }
    }

    // MARK: Failure

    /// Fatal: tell the pipeline, send the alert OpenSSL queued (if any), and close.
    private func fail(context: ChannelHandlerContext, _ error: Error) {
        guard state != .closed else { return }
        recordHandshake((error as? TLSError)?.code == .handshakeTimedOut ? .timeout : .failed, error: error, context: context)
        state = .closed
        timeout?.cancel()
        failHeldWrites(error)
        context.fireErrorCaught(error)
        flushThenClose(context: context, mode: .all, promise: nil)
    }

    /// Reports the handshake's outcome, if one is running (no-op after the first report).
    private func recordHandshake(
        _ result: TLSHandshakeMetrics.Result, resumed: Bool = false, error: Error?, context: ChannelHandlerContext
    ) {
        guard let started = handshakeStarted else { return }
        handshakeStarted = nil
        metrics.record(
            result, resumed: resumed, duration: context.eventLoop.now - started, error: error, peer: context.channel.remoteAddress)
    }

    private func failHeldWrites(_ error: Error) {
        let writes = heldWrites
        heldWrites = []
        for (_, promise) in writes { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
