import NIOCore
import WattlineProtos

/// Runs the server side of one Wattline connection on a channel whose inbound data is the
/// plaintext byte stream (behind the TLS handler): checks the preface, cuts frames, feeds them to
/// `ServerConnectionStateMachine` and carries out its actions. Handlers run as tasks; requests
/// reach them through `InboundMessages`, responses come back through `OutboundMessages`, and the
/// flow-control windows move only as fast as both sides consume (docs/protocol.md §5).
public final class ServerConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    public struct Options: Sendable {
        public var settings = WireSettings.defaults
        /// A connection must send its preface and `HELLO` within this time.
        public var helloTimeout = TimeAmount.seconds(10)
        /// A keepalive `PING` unanswered this long ends the connection (§6).
        public var keepaliveAnswerTimeout = TimeAmount.seconds(20)
        /// When set, the connection is refused right after the preface with this `GOAWAY`
        /// (the server is at its connection limit).
        public var refusal: WireError?
        /// Where connection, call, byte and stall counts go (nil: nowhere).
        public var metrics: WireMetrics?
        public init() {}
    }

    private let router: Router
    private let options: Options
    private var machine: ServerConnectionStateMachine
    private var decoder: FrameDecoder
    private var buffer = ByteBuffer()
    private var prefaceSeen = false
    private var calls: [UInt32: ServerCall] = [:]
    private var closing = false
    private var draining = false
    private var peerGoneAway = false
    private var peer = PeerIdentity()
    private var clock: ConnectionClock
    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    /// Calls with responses waiting for the channel to become writable again.
    private var blockedOnWritability = false
    /// Where this connection's handler tasks run: its event loop (one executor per connection).
    private var executor: EventLoopTaskExecutor?
    private var flushPending = false

    public convenience init(router: Router, settings: WireSettings = .defaults) {
        var options = Options()
        options.settings = settings
        self.init(router: router, options: options)
    }

    public init(router: Router, options: Options) {
        self.router = router
        self.options = options
        self.machine = ServerConnectionStateMachine(settings: options.settings)
        self.decoder = FrameDecoder(maxFrameSize: options.settings.maxFrameSize)
        self.clock = ConnectionClock(settings: options.settings, helloTimeout: options.helloTimeout,
            keepaliveAnswerTimeout: options.keepaliveAnswerTimeout, now: .now())
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        peer.remoteAddress = context.channel.remoteAddress?.description
        options.metrics?.connectionOpened()
        armTimer(context: context)
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        options.metrics?.connectionClosed()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        closing = true
        timer?.cancel()
        for call in calls.values { _ = call.stop(CallFailure.unavailable("connection closed")) }
        calls.removeAll()
        context.fireChannelInactive()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // TLS failures, resets: there is nobody left to tell.
        closing = true
        context.close(promise: nil)
    }

    /// `DrainRequest` starts a graceful drain: `GOAWAY`, finish the open calls, then close.
    /// A `PeerIdentityEvent` (the TLS handshake) names the peer for the calls' contexts.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let identified = event as? any PeerIdentityEvent {
            let address = peer.remoteAddress
            peer = identified.peerIdentity
            peer.remoteAddress = peer.remoteAddress ?? address
        } else if let drain = event as? DrainRequest {
            guard !closing else { return }
            if !draining {
                draining = true
                write(machine.beginDrain(), context: context)
                options.metrics?.goAwaySent(reason: .noError)
            }
            if drain.cancelOpenCalls {  // the drain timeout passed: end what is left (§6)
                for id in calls.keys.sorted() {
                    end(id, .unavailable("the server is shutting down; retry"), flushFirst: false, context: context)
                }
            }
            flushIfNeeded(context: context)
            closeIfDone(context: context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, blockedOnWritability {
            blockedOnWritability = false
            for id in calls.keys.sorted() { pump(id, context: context) }
            flushIfNeeded(context: context)
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Inbound frames

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
        options.metrics?.bytesReceived(bytes.readableBytes)
        buffer.writeBuffer(&bytes)
        do throws(WireError) {
            if !prefaceSeen {
                guard buffer.readableBytes >= Preface.bytes.count else { return }
                guard buffer.readBytes(length: Preface.bytes.count) == Preface.bytes else {
                    closing = true
                    context.close(promise: nil)  // not a Wattline client: no reply (§1.2)
                    return
                }
                prefaceSeen = true
                if let refusal = options.refusal {
                    options.metrics?.connectionRefused(reason: WireMetrics.reasonName(refusal.reason))
                    throw refusal
                }
            }
            let now = NIODeadline.now()
            var received = false
            while !closing, let frame = try decoder.next(from: &buffer) {
                received = true
                if frame.type == .hello { clock.helloReceived() }
                if frame.type == .ping, !frame.flags.contains(.ack), !clock.allowPing(at: now) {
                    throw WireError(.enhanceYourCalm, "more than one PING per 5 s")
                }
                for action in try machine.receive(frame) { run(action, context: context) }
            }
            if received, clock.received(at: now) { armTimer(context: context) }
            buffer.discardReadBytes()
            flushIfNeeded(context: context)
            closeIfDone(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    private func run(_ action: ServerConnectionAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let frames):
            for frame in frames { write(frame, context: context) }
        case .startCall(let id, let header):
            open(id, header, context: context)
        case .deliver(let id, let message, let cost):
            deliver(id, message, cost: cost, context: context)
        case .endOfRequests(let id):
            guard let call = calls[id] else { return }
            if let inbound = call.inbound {
                inbound.finish()
            } else if let request = call.request {
                start(call, request: request, context: context)
            } else {
                end(id, .invalidArgument("\(call.context.method) takes exactly one request message"), context: context)
            }
        case .cancelCall(let id, let code):
            guard let call = calls.removeValue(forKey: id) else { return }
            options.metrics?.callFinished(method: call.context.method, code: code, duration: call.elapsed)
            giveBack(call.stop(CancellationError()), id: id, context: context)
            callsChanged(context: context)
        case .resumeWriting(let id):
            pump(id, context: context)
        case .peerGoingAway:
            peerGoneAway = true
        }
    }

    private func open(_ id: UInt32, _ header: RpcV1.CallHeader, context: ChannelHandlerContext) {
        guard let (kind, handler) = router.handler(for: header.method) else {
            options.metrics?.callFinished(method: WireMetrics.unknownMethod, code: 12, duration: .zero)
            end(id, .unimplemented("unknown method \(header.method)"), context: context)
            return
        }
        options.metrics?.callStarted(method: header.method)
        if let problem = MetadataRules.problem(in: header.metadata) {
            end(id, .invalidArgument(problem), context: context)
            return
        }
        let timeout = header.timeoutMs > 0 ? TimeAmount.milliseconds(Int64(clamping: header.timeoutMs)) : nil
        let callContext = CallContext(
            method: header.method, kind: kind,
            deadline: timeout.map { ContinuousClock.now + .nanoseconds($0.nanoseconds) },
            metadata: header.metadata, authorization: header.authorization, peer: peer)
        let call = ServerCall(id: id, context: callContext, handler: handler)
        calls[id] = call
        callsChanged(context: context)
        if let timeout {
            call.deadlineTimer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                end(id, .deadlineExceeded(), flushFirst: false, context: context)
                flushIfNeeded(context: context)
                closeIfDone(context: context)
            }
        }
        if !call.takesOneRequest {
            let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let eventLoop = context.eventLoop
            call.inbound = InboundMessages(reportThreshold: options.settings.initialStreamWindow / 4) { bytes in
                eventLoop.execute {
                    let (handler, context) = loop.value
                    handler.giveBack(bytes, id: id, context: context)
                    handler.flushIfNeeded(context: context)
                }
            }
            start(call, request: nil, context: context)
        }
    }

    private func deliver(_ id: UInt32, _ message: ByteBuffer, cost: Int, context: ChannelHandlerContext) {
        guard let call = calls[id] else {
            giveBack(cost, id: id, context: context)
            return
        }
        if let inbound = call.inbound {
            inbound.yield(message, cost: cost)
            return
        }
        giveBack(cost, id: id, context: context)  // held in memory, bounded by max_message_size
        guard call.request == nil, call.task == nil else {
            end(id, .invalidArgument("\(call.context.method) takes exactly one request message"), context: context)
            return
        }
        call.request = message
    }

    /// Request bytes consumed (or dropped): replenishes the windows.
    private func giveBack(_ bytes: Int, id: UInt32, context: ChannelHandlerContext) {
        guard bytes > 0 else { return }
        for frame in machine.consumed(bytes, streamID: id) { write(frame, context: context) }
    }

    // MARK: Handlers

    private func start(_ call: ServerCall, request: ByteBuffer?, context: ChannelHandlerContext) {
        let id = call.id
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        let interceptors = router.interceptors
        let callContext = call.context
        let outcome: @Sendable () async -> HandlerOutcome
        switch call.handler {
        case .unary(let body):
            let request = request!
            outcome = {
                await HandlerOutcome.of {
                    .response(try await body(request, callContext, interceptors))
                }
            }
        case .singleRequest(let body):
            let out = makeOutbound(id, context: context)
            call.outbound = out
            let request = request!
            outcome = {
                await HandlerOutcome.of {
                    try await body(request, out, callContext, interceptors)
                    out.finish()
                    return .finished
                }
            }
        case .requestStream(let body):
            let out = makeOutbound(id, context: context)
            call.outbound = out
            let inbound = call.inbound!
            outcome = {
                await HandlerOutcome.of {
                    try await body(inbound, out, callContext, interceptors)
                    out.finish()
                    return .finished
                }
            }
        }
        call.task = Task(executorPreference: taskExecutor(context.eventLoop)) {
            let result = await outcome()
            eventLoop.execute {
                let (handler, context) = loop.value
                handler.handlerEnded(id, result, context: context)
            }
        }
    }

    private func taskExecutor(_ eventLoop: any EventLoop) -> EventLoopTaskExecutor {
        if let executor { return executor }
        let made = EventLoopTaskExecutor(eventLoop)
        executor = made
        return made
    }

    private func makeOutbound(_ id: UInt32, context: ChannelHandlerContext) -> OutboundMessages {
        let loop = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let eventLoop = context.eventLoop
        return OutboundMessages {
            eventLoop.execute {
                let (handler, context) = loop.value
                handler.pump(id, context: context)
                handler.flushIfNeeded(context: context)
            }
        }
    }

    private func handlerEnded(_ id: UInt32, _ outcome: HandlerOutcome, context: ChannelHandlerContext) {
        guard let call = calls[id] else { return }  // cancelled, or ended by its deadline
        call.deadlineTimer?.cancel()
        switch outcome {
        case .response(let response):
            call.sends.enqueue(response)
            call.status = RpcV1.CallStatus()
            pump(id, context: context)
        case .finished:
            call.status = RpcV1.CallStatus()
            pump(id, context: context)
        case .failed(let failure):
            end(id, failure, context: context)
        }
        flushIfNeeded(context: context)
        closeIfDone(context: context)
    }

    // MARK: Outbound

    /// Sends what the call has queued as far as the windows allow, then its `STATUS` once
    /// everything before it is out.
    private func pump(_ id: UInt32, context: ChannelHandlerContext) {
        guard let call = calls[id], !closing else { return }
        if let out = call.outbound { call.sends.enqueue(out.take()) }
        if let size = call.sends.headRemaining, size > machine.peerSettings.maxMessageSize {
            end(id, .resourceExhausted("response of \(size) bytes exceeds the client's max_message_size"),
                flushFirst: false, context: context)
            return
        }
        guard context.channel.isWritable else {
            blockedOnWritability = true
            return
        }
        let sent = call.sends.drain(
            streamID: id, window: machine.sendable(streamID: id), maxFrameSize: machine.peerSettings.maxFrameSize,
            emit: { write($0, context: context) },
            completed: { call.outbound?.written($0) })
        try? machine.sent(sent, streamID: id)  // never more than `sendable`
        if !call.sends.isEmpty {
            options.metrics?.flowControlStalled()  // the rest waits for a WINDOW_UPDATE
            return
        }
        guard let status = call.status else { return }
        finish(id, status, context: context)
    }

    /// Ends the call with a failure: after its queued responses (`flushFirst`, for a handler's own
    /// error) or at once (deadline, limits).
    private func end(_ id: UInt32, _ failure: CallFailure, flushFirst: Bool = true, context: ChannelHandlerContext) {
        let status = RpcV1.CallStatus.with {
            $0.code = failure.code
            $0.message = failure.message
        }
        guard let call = calls[id] else {
            if let frame = machine.finish(streamID: id, status: status) { write(frame, context: context) }
            return
        }
        if flushFirst, !call.sends.isEmpty || call.outbound != nil {
            call.outbound?.close(failure)
            call.task?.cancel()
            call.status = status
            pump(id, context: context)
        } else {
            finish(id, status, context: context)
        }
    }

    private func finish(_ id: UInt32, _ status: RpcV1.CallStatus, context: ChannelHandlerContext) {
        if let call = calls.removeValue(forKey: id) {
            options.metrics?.callFinished(method: call.context.method, code: status.code, duration: call.elapsed)
            giveBack(call.stop(CallFailure(code: status.code, status.message)), id: id, context: context)
            callsChanged(context: context)
        }
        if let frame = machine.finish(streamID: id, status: status) { write(frame, context: context) }
    }

    private func write(_ frame: Frame, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
        frame.write(into: &out)
        options.metrics?.bytesSent(out.readableBytes)
        context.write(wrapOutboundOut(out), promise: nil)
        flushPending = true
    }

    private func flushIfNeeded(context: ChannelHandlerContext) {
        guard flushPending else { return }
        flushPending = false
        context.flush()
    }

    // MARK: Connection end

    private func closeIfDone(context: ChannelHandlerContext) {
        guard draining || peerGoneAway, calls.isEmpty, !closing else { return }
        closing = true
        timer?.cancel()
        closeAfterWrites(context: context)
    }

    /// How long a connection that was told to go away stays open for the peer to read that and
    /// close first: closing a socket with the peer's bytes still arriving makes TCP reset it, and a
    /// reset can destroy the `GOAWAY` in the peer's receive buffer before it is read.
    static let closeLinger = TimeAmount.seconds(1)

    /// Closes once everything written so far has reached the socket and the peer had time to
    /// read it (inbound bytes are discarded meanwhile: `closing` is set).
    private func closeAfterWrites(context: ChannelHandlerContext) {
        flushPending = false
        let loop = context.eventLoop.assumeIsolated()
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            loop.scheduleTask(in: Self.closeLinger) { context.close(promise: nil) }
        }
    }

    private func fail(_ error: WireError, context: ChannelHandlerContext) {
        closing = true
        timer?.cancel()
        write(machine.goAway(error.reason, error.message), context: context)
        options.metrics?.goAwaySent(reason: error.reason)
        closeAfterWrites(context: context)
    }

    // MARK: Timers

    private func callsChanged(context: ChannelHandlerContext) {
        clock.callsChanged(busy: !calls.isEmpty, at: .now())
        armTimer(context: context)
    }

    private func armTimer(context: ChannelHandlerContext) {
        guard !closing, let next = clock.nextDeadline else { return }
        if let timerDeadline, timerDeadline <= next, timer != nil { return }
        timer?.cancel()
        timerDeadline = next
        timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: next) { [self] in
            timer = nil
            timerDeadline = nil
            timerFired(context: context)
        }
    }

    private func timerFired(context: ChannelHandlerContext) {
        guard !closing else { return }
        switch clock.due(at: .now()) {
        case .sendPing:
            write(.ping(UInt64.random(in: 0...UInt64.max)), context: context)
            flushIfNeeded(context: context)
        case .helloTimedOut:
            closing = true
            context.close(promise: nil)  // no HELLO yet: not a peer we can talk to
            return
        case .keepaliveTimedOut:
            fail(WireError(.keepaliveTimeout, "no answer to PING within \(options.keepaliveAnswerTimeout)"), context: context)
            return
        case .idleTimedOut:
            fail(WireError(.idleTimeout, "no calls for \(options.settings.idleTimeoutMs) ms"), context: context)
            return
        case nil:
            break
        }
        armTimer(context: context)
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

/// Sent down a connection's pipeline (`fireUserInboundEventTriggered`) to drain it gracefully:
/// `GOAWAY`, open calls finish, then the connection closes. Sent again with `cancelOpenCalls`
/// when the drain timeout has passed: the calls still open end with UNAVAILABLE.
public struct DrainRequest: Sendable {
    public var cancelOpenCalls: Bool
    public init(cancelOpenCalls: Bool = false) { self.cancelOpenCalls = cancelOpenCalls }
}
