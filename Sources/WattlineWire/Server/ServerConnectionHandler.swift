import NIOCore
import WattlineProtos

/// Runs the server side of one Wattline connection on a channel whose inbound data is the
/// plaintext byte stream (behind the TLS handler): checks the preface, cuts frames, feeds them to
/// `ServerConnectionStateMachine` and carries out its actions. Handlers run as tasks; their
/// results come back to the event loop to be written. Unary calls only, for now.
public final class ServerConnectionHandler: ChannelInboundHandler {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private struct Call {
        var request: ByteBuffer?
        var task: Task<Void, Never>?
        let context: CallContext
        let handler: Router.RawUnary
    }

    private let router: Router
    private var machine: ServerConnectionStateMachine
    private var decoder: FrameDecoder
    private var buffer = ByteBuffer()
    private var prefaceSeen = false
    private var calls: [UInt32: Call] = [:]
    private var closing = false
    private var draining = false

    public init(router: Router, settings: WireSettings = .defaults) {
        self.router = router
        self.machine = ServerConnectionStateMachine(settings: settings)
        self.decoder = FrameDecoder(maxFrameSize: settings.maxFrameSize)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !closing else { return }
        var bytes = unwrapInboundIn(data)
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
            }
            while let frame = try decoder.next(from: &buffer) {
                for action in try machine.receive(frame) { run(action, context: context) }
            }
            buffer.discardReadBytes()
            context.flush()
            closeIfDrained(context: context)
        } catch {
            fail(error, context: context)
        }
    }

    /// `DrainRequest` starts a graceful drain: `GOAWAY`, finish the open calls, then close.
    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is DrainRequest else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        guard !draining, !closing else { return }
        draining = true
        write(machine.beginDrain(), context: context)
        context.flush()
        closeIfDrained(context: context)
    }

    private func closeIfDrained(context: ChannelHandlerContext) {
        guard draining, calls.isEmpty, !closing else { return }
        closing = true
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in context.close(promise: nil) }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        for call in calls.values { call.task?.cancel() }
        calls.removeAll()
        context.fireChannelInactive()
    }

    private func run(_ action: ServerConnectionAction, context: ChannelHandlerContext) {
        switch action {
        case .send(let frames):
            for frame in frames { write(frame, context: context) }
        case .startCall(let id, let header):
            guard let handler = router.unaryHandler(for: header.method) else {
                finish(id, code: 12, "unknown method \(header.method)", context: context)
                return
            }
            let deadline = header.timeoutMs > 0 ? ContinuousClock.now + .milliseconds(Int64(clamping: header.timeoutMs)) : nil
            calls[id] = Call(
                request: nil, task: nil,
                context: CallContext(method: header.method, deadline: deadline, metadata: header.metadata,
                                     authorization: header.authorization),
                handler: handler)
        case .deliver(let id, let message):
            for frame in machine.consumed(message.readableBytes, streamID: id) { write(frame, context: context) }
            guard calls[id] != nil else { return }
            guard calls[id]!.request == nil else {
                finish(id, code: 3, "a unary call takes exactly one request message", context: context)
                return
            }
            calls[id]!.request = message
        case .endOfRequests(let id):
            guard let call = calls[id] else { return }
            guard let request = call.request else {
                finish(id, code: 3, "a unary call takes exactly one request message", context: context)
                return
            }
            start(id, call, request, context: context)
        case .cancelCall(let id, _):
            calls.removeValue(forKey: id)?.task?.cancel()
        case .resumeWriting, .peerGoingAway:
            break  // unary responses are written whole; streaming will use these
        }
    }

    private func start(_ id: UInt32, _ call: Call, _ request: ByteBuffer, context: ChannelHandlerContext) {
        let loop = context.eventLoop
        let box = NIOLoopBound((handler: self, context: context), eventLoop: loop)
        let deadline = call.context.deadline
        calls[id]?.task = Task {
            let outcome: Result<ByteBuffer, CallFailure>
            do {
                let response = try await withDeadline(deadline) { try await call.handler(request, call.context) }
                outcome = .success(response)
            } catch let failure as CallFailure {
                outcome = .failure(failure)
            } catch is DeadlineExceeded {
                outcome = .failure(CallFailure(code: 4, "deadline exceeded"))
            } catch is CancellationError {
                outcome = .failure(CallFailure(code: 1, "cancelled"))
            } catch {
                outcome = .failure(CallFailure(code: 13, "internal error"))
            }
            loop.execute {
                let (handler, context) = box.value
                handler.complete(id, outcome, context: context)
            }
        }
    }

    private func complete(_ id: UInt32, _ outcome: Result<ByteBuffer, CallFailure>, context: ChannelHandlerContext) {
        guard calls.removeValue(forKey: id) != nil, !closing else { return }
        switch outcome {
        case .success(var response):
            // Split into frames no larger than the peer accepts; unary responses are small, and a
            // response larger than the send window waits for the streaming runtime (not yet).
            let chunk = machine.peerSettings.maxFrameSize
            repeat {
                let size = min(chunk, response.readableBytes)
                let slice = response.readSlice(length: size)!
                let more = response.readableBytes > 0
                try? machine.sent(size, streamID: id)
                write(Frame(type: .message, flags: more ? .more : [], streamID: id, payload: slice), context: context)
            } while response.readableBytes > 0
            if let status = machine.finish(streamID: id, status: RpcV1.CallStatus()) { write(status, context: context) }
        case .failure(let failure):
            finish(id, code: failure.code, failure.message, context: context)
        }
        context.flush()
        closeIfDrained(context: context)
    }

    private func finish(_ id: UInt32, code: UInt32, _ message: String, context: ChannelHandlerContext) {
        calls.removeValue(forKey: id)?.task?.cancel()
        let status = RpcV1.CallStatus.with {
            $0.code = code
            $0.message = message
        }
        if let frame = machine.finish(streamID: id, status: status) { write(frame, context: context) }
    }

    private func write(_ frame: Frame, context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: Frame.headerSize + frame.payload.readableBytes)
        frame.write(into: &out)
        context.write(wrapOutboundOut(out), promise: nil)
    }

    private func fail(_ error: WireError, context: ChannelHandlerContext) {
        closing = true
        let goAway = RpcV1.GoAway.with {
            $0.lastStreamID = 0
            $0.reason = error.reason
            $0.message = error.message
        }
        write(.control(.goAway, goAway), context: context)
        context.writeAndFlush(wrapOutboundOut(ByteBuffer()), promise: nil)
        context.close(promise: nil)
    }
}

@available(*, unavailable)
extension ServerConnectionHandler: Sendable {}

/// Sent down a connection's pipeline (`fireUserInboundEventTriggered`) to drain it gracefully.
public struct DrainRequest: Sendable {
    public init() {}
}

struct DeadlineExceeded: Error {}

/// Runs `body`, cancelling it and throwing `DeadlineExceeded` when `deadline` passes first.
func withDeadline<T: Sendable>(
    _ deadline: ContinuousClock.Instant?, _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    guard let deadline else { return try await body() }
    return try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(until: deadline, clock: .continuous)
            throw DeadlineExceeded()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}
