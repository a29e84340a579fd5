import NIOConcurrencyHelpers
import NIOCore
import WattlineProtos
import WattlineWire

/// The client side of one connection (docs/protocol.md): sends the preface and `HELLO`, opens a
/// stream per call (queueing calls beyond the server's `max_concurrent_streams`), frames requests
/// within the send windows, hands responses to the calls and opens the receive windows as the
/// calls consume them. It lives on the channel's event loop; `WattlineClient` reaches it through
/// `ClientConnection.execute`.
final class ClientConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private final class Stream {
        let call: ClientStreamCall
        var sendWindow: FlowWindow
        var receiveWindow: ReceiveWindow
        var sends = SendQueue()
        var halfClosed = false
        var assembler: MessageAssembler
        var unaryResponse: ByteBuffer?

        init(call: ClientStreamCall, sendWindow: Int, receiveWindow: Int, maxMessageSize: Int) {
            self.call = call
            self.sendWindow = FlowWindow(initial: sendWindow)
            self.receiveWindow = ReceiveWindow(initial: receiveWindow)
            self.assembler = MessageAssembler(maxMessageSize: maxMessageSize)
        }
    }

    /// What this client announces in its `HELLO`: larger receive windows than the defaults, so a
    /// streaming download is not held back by round trips.
    static let settings: WireSettings = {
        var settings = WireSettings.defaults
        settings.initialStreamWindow = 256 << 10
        settings.initialConnectionWindow = 4 << 20
        return settings
    }()

    let goingAway: NIOLockedValueBox<Bool>
    private var context: ChannelHandlerContext?
    private var decoder = FrameDecoder(maxFrameSize: settings.maxFrameSize)
    private var buffer = ByteBuffer()
    private var nextStreamID: UInt32 = 1
    private var streams: [UInt32: Stream] = [:]
    private var peerSettings = WireSettings.defaults
    private var connectionSendWindow = FlowWindow(initial: WireSettings.defaults.initialConnectionWindow)
    private var connectionReceiveWindow = ReceiveWindow(initial: settings.initialConnectionWindow)
    private var goneAway = false
    private var ended: RPCError?
    /// Calls waiting for a free stream, oldest first (a ring buffer: dequeuing shifts nothing,
    /// and a queue that never runs empty keeps nothing it has handed over).
    private var waiting = CircularBuffer<ClientStreamCall>()
    private var deadlines: [ObjectIdentifier: Scheduled<Void>] = [:]
    private var flushPending = false

    init(goingAway: NIOLockedValueBox<Bool>) {
        self.goingAway = goingAway
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(bytes: Preface.bytes)
        Frame.control(.hello, RpcV1.Hello.with {
            $0.versions = WireVersion.supported
            $0.settings = Self.settings.message
            $0.agent = "wattline-swift/0.2"
        }).write(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        endAll(ended ?? .unavailable("connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        endAll(.unavailable("connection failed: \(error)"))
        context.close(promise: nil)
    }

    // MARK: Calls (from WattlineClient, on the event loop)

    /// Opens `call` now or when a stream is free; `timeout` is enforced here (§4.2).
    func start(_ call: ClientStreamCall, timeout: TimeAmount?) {
        // A call that never left this side was not processed, whatever ended the connection.
        guard let context else { return call.fail(.unavailable("not connected", wasProcessed: false)) }
        if let ended { return call.fail(.unavailable(ended.message, wasProcessed: false)) }
        guard !goneAway else { return call.fail(.unavailable("the server is going away; reconnect", wasProcessed: false)) }
        if let timeout {
            deadlines[ObjectIdentifier(call)] = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [self] in
                cancel(call, code: 4, "deadline exceeded")
            }
        }
        if streams.count < peerSettings.maxConcurrentStreams {
            open(call, context: context)
        } else {
            waiting.append(call)
        }
        flushIfNeeded()
    }

    /// Ends `call` from the client's side: `CANCEL` with `code` if it is open (§4.3). Responses
    /// it had received and nobody read give their bytes back to the connection window.
    func cancel(_ call: ClientStreamCall, code: UInt32, _ message: String) {
        deadlines.removeValue(forKey: ObjectIdentifier(call))?.cancel()
        let error = RPCError(code: code, message)
        let id = call.streamID.withLockedValue { $0 }
        if let id, streams.removeValue(forKey: id) != nil {
            write(.control(.cancel, streamID: id, RpcV1.Cancel.with { $0.code = code }))
            openWaiting()
        } else if let index = waiting.firstIndex(where: { $0 === call }) {
            waiting.remove(at: index)
        }
        switch call.shape {
        case .unary(_, let response):
            response.fail(error)
        case .streaming(let requests, let responses):
            requests.close(error)
            let unread = responses.fail(error)
            if let id { giveBack(unread, id: id) }
        }
        flushIfNeeded()
    }

    /// The call's task wrote requests: frame what the windows allow.
    func requestsWritten(streamID: UInt32?) {
        guard let id = streamID else { return }  // not open yet: `open` pumps
        pump(id)
        flushIfNeeded()
    }

    /// A call's task consumed `bytes` of responses: open the windows again.
    func consumed(_ bytes: Int, streamID: UInt32?) {
        guard let id = streamID else { return }
        giveBack(bytes, id: id)
        flushIfNeeded()
    }

    private func open(_ call: ClientStreamCall, context: ChannelHandlerContext) {
        let id = nextStreamID
        nextStreamID += 2
        call.streamID.withLockedValue { $0 = id }
        let stream = Stream(
            call: call, sendWindow: peerSettings.initialStreamWindow,
            receiveWindow: Self.settings.initialStreamWindow, maxMessageSize: Self.settings.maxMessageSize)
        if case .unary(let request, _) = call.shape {
            stream.sends.enqueue(OutboundMessages.Batch(messages: [request], finished: true))
        }
        streams[id] = stream
        write(.control(.open, streamID: id, call.header))
        pump(id)
    }

    private func openWaiting() {
        guard let context else { return }
        while !waiting.isEmpty, streams.count < peerSettings.maxConcurrentStreams, !goneAway {
            open(waiting.removeFirst(), context: context)
        }
    }

    // MARK: Outbound

    private func pump(_ id: UInt32) {
        guard let stream = streams[id] else { return }
        if case .streaming(let requests, _) = stream.call.shape { stream.sends.enqueue(requests.take()) }
        if let size = stream.sends.headRemaining, size > peerSettings.maxMessageSize {
            cancel(stream.call, code: 8, "request of \(size) bytes exceeds the server's max_message_size")
            return
        }
        let window = min(stream.sendWindow.available, connectionSendWindow.available)
        let sent = stream.sends.drain(
            streamID: id, window: window, maxFrameSize: peerSettings.maxFrameSize,
            emit: { write($0) },
            completed: { size in
                if case .streaming(let requests, _) = stream.call.shape { requests.written(size) }
            })
        try? stream.sendWindow.consume(sent)  // never more than `window`
        try? connectionSendWindow.consume(sent)
        if stream.sends.isEmpty, stream.sends.writerFinished, !stream.halfClosed {
            stream.halfClosed = true
            write(Frame(type: .halfClose, streamID: id))
        }
    }

    private func giveBack(_ bytes: Int, id: UInt32) {
        guard bytes > 0 else { return }
        if let increment = connectionReceiveWindow.release(bytes) {
            write(.windowUpdate(streamID: 0, increment: increment))
        }
        guard let stream = streams[id], let increment = stream.receiveWindow.release(bytes) else { return }
        write(.windowUpdate(streamID: id, increment: increment))
    }

    private func write(_ frame: Frame) {
        guard let context else { return }
        var out = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
        frame.write(into: &out)
        context.write(wrapOutboundOut(out), promise: nil)
        flushPending = true
    }

    private func flushIfNeeded() {
        guard flushPending, let context else { return }
        flushPending = false
        context.flush()
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        do throws(WireError) {
            while let frame = try decoder.next(from: &buffer) { try receive(frame) }
            buffer.discardReadBytes()
            openWaiting()
            flushIfNeeded()
            if goneAway, streams.isEmpty { context.close(promise: nil) }  // nothing left on it
        } catch {
            write(.control(.goAway, RpcV1.GoAway.with {
                $0.reason = error.reason
                $0.message = error.message
            }))
            flushIfNeeded()
            endAll(.unavailable("the server broke the protocol: \(error)"))
            context.close(promise: nil)
        }
    }

    private func receive(_ frame: Frame) throws(WireError) {
        switch frame.type {
        case .hello:
            let previous = peerSettings
            peerSettings = try WireSettings(validating: frame.control(RpcV1.Hello.self).settings ?? RpcV1.Settings())
            // Windows assumed from the defaults change by the difference (never below zero).
            let connectionDelta = peerSettings.initialConnectionWindow - previous.initialConnectionWindow
            connectionSendWindow = FlowWindow(initial: max(0, connectionSendWindow.available + connectionDelta))
            let streamDelta = peerSettings.initialStreamWindow - previous.initialStreamWindow
            for (id, stream) in streams {
                stream.sendWindow = FlowWindow(initial: max(0, stream.sendWindow.available + streamDelta))
                pump(id)
            }
        case .message:
            try receiveMessage(frame)
        case .status:
            guard let stream = streams.removeValue(forKey: frame.streamID) else { return }
            deadlines.removeValue(forKey: ObjectIdentifier(stream.call))?.cancel()
            let status = try frame.control(RpcV1.CallStatus.self)
            let failure = status.code == 0 ? nil : RPCError(code: status.code, status.message)
            switch stream.call.shape {
            case .unary(_, let response):
                if let failure {
                    response.fail(failure)
                } else if let message = stream.unaryResponse {
                    response.succeed(message)
                } else {
                    response.fail(RPCError(code: 13, "the server ended a unary call without a response"))
                }
            case .streaming(let requests, let responses):
                requests.close(failure ?? RPCError(code: 0, "the call has ended"))
                responses.finish(failure)
            }
        case .windowUpdate:
            let increment = try frame.windowIncrement()
            if frame.streamID == 0 {
                try connectionSendWindow.grow(by: increment)
                for id in streams.keys.sorted() { pump(id) }
            } else if let stream = streams[frame.streamID] {
                try stream.sendWindow.grow(by: increment)
                pump(frame.streamID)
            }
        case .ping:
            if !frame.flags.contains(.ack) { write(Frame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)) }
        case .goAway:
            let goAway = try frame.control(RpcV1.GoAway.self)
            goneAway = true
            goingAway.withLockedValue { $0 = true }
            if goAway.reason != .noError {
                // What this ends later are the calls at or below last_stream_id: maybe processed.
                ended = .unavailable("the server ended the connection: \(goAway.message)")
            }
            for (id, stream) in streams where id > goAway.lastStreamID {
                streams[id] = nil
                deadlines.removeValue(forKey: ObjectIdentifier(stream.call))?.cancel()
                stream.call.fail(.unavailable("not processed before the server went away; retry", wasProcessed: false))
            }
            let queued = Array(waiting)
            waiting.removeAll()
            for call in queued { call.fail(.unavailable("the server is going away; retry", wasProcessed: false)) }
        case .open, .halfClose, .cancel:
            throw WireError(.protocolError, "\(frame.type) from a server")
        }
    }

    private func receiveMessage(_ frame: Frame) throws(WireError) {
        let size = frame.payload.readableBytes
        try connectionReceiveWindow.receive(size)
        guard let stream = streams[frame.streamID] else {
            giveBack(size, id: frame.streamID)  // late bytes of a call that ended
            return
        }
        try stream.receiveWindow.receive(size)
        let message: ByteBuffer?
        do {
            message = try stream.assembler.append(frame.payload, more: frame.flags.contains(.more))
        } catch {
            giveBack(size, id: frame.streamID)
            cancel(stream.call, code: 8, "response larger than \(Self.settings.maxMessageSize) bytes")
            return
        }
        switch (stream.call.shape, message) {
        case (_, nil):
            giveBack(size, id: frame.streamID)  // a fragment: buffered until its message is whole (§5)
        case (.unary, let message?):
            giveBack(size, id: frame.streamID)  // held until STATUS, bounded by max_message_size
            guard stream.unaryResponse == nil else {
                cancel(stream.call, code: 13, "the server sent two responses to a unary call")
                return
            }
            stream.unaryResponse = message
        case (.streaming(_, let responses), let message?):
            responses.yield(message, cost: size)
        }
    }

    private func endAll(_ error: RPCError) {
        ended = ended ?? error
        goingAway.withLockedValue { $0 = true }
        for timer in deadlines.values { timer.cancel() }
        deadlines.removeAll()
        let open = streams.values.map(\.call) + Array(waiting)
        streams.removeAll()
        waiting.removeAll()
        for call in open { call.fail(error) }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
