import NIOCore
import WattlineProtos
import WattlineWire

/// A unary call handed to the connection: its frames are written and its promise completed with
/// the response message or an `RPCError`.
struct UnaryCallRequest {
    let header: RpcV1.CallHeader
    let request: ByteBuffer
    let promise: EventLoopPromise<ByteBuffer>
}

/// The client side of one connection: sends the preface and HELLO, opens a stream per call, joins
/// response fragments and completes calls on STATUS. Unary calls only, for now.
final class ClientConnectionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = UnaryCallRequest
    typealias OutboundOut = ByteBuffer

    private struct PendingCall {
        let promise: EventLoopPromise<ByteBuffer>
        var assembler: MessageAssembler
        var response: ByteBuffer?
    }

    private var decoder = FrameDecoder(maxFrameSize: WireSettings.defaults.maxFrameSize)
    private var buffer = ByteBuffer()
    private var nextStreamID: UInt32 = 1
    private var calls: [UInt32: PendingCall] = [:]
    private var peerSettings = WireSettings.defaults
    private var goneAway = false
    /// Calls waiting for a free stream: the server's `max_concurrent_streams` is respected here.
    private var waiting: [UnaryCallRequest] = []
    private var waitingHead = 0

    func channelActive(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(bytes: Preface.bytes)
        Frame.control(.hello, RpcV1.Hello.with {
            $0.versions = WireVersion.supported
            $0.settings = WireSettings.defaults.message
            $0.agent = "wattline-swift/0.1"
        }).write(into: &out)
        context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        context.fireChannelActive()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let call = unwrapOutboundIn(data)
        promise?.succeed()
        guard !goneAway else {
            call.promise.fail(RPCError(code: 14, "the server is going away; reconnect"))
            return
        }
        guard calls.count < peerSettings.maxConcurrentStreams else {
            waiting.append(call)
            return
        }
        open(call, context: context)
    }

    private func open(_ call: UnaryCallRequest, context: ChannelHandlerContext) {
        let id = nextStreamID
        nextStreamID += 2
        calls[id] = PendingCall(promise: call.promise, assembler: MessageAssembler(maxMessageSize: WireSettings.defaults.maxMessageSize))
        var out = context.channel.allocator.buffer(capacity: 64 + call.request.readableBytes)
        Frame.control(.open, streamID: id, call.header).write(into: &out)
        var request = call.request
        repeat {
            let slice = request.readSlice(length: min(peerSettings.maxFrameSize, request.readableBytes))!
            Frame(type: .message, flags: request.readableBytes > 0 ? .more : [], streamID: id, payload: slice).write(into: &out)
        } while request.readableBytes > 0
        Frame(type: .halfClose, streamID: id).write(into: &out)
        context.write(wrapOutboundOut(out), promise: nil)
    }

    /// Opens waiting calls while streams are free.
    private func openWaiting(context: ChannelHandlerContext) {
        var opened = false
        while waitingHead < waiting.count, calls.count < peerSettings.maxConcurrentStreams, !goneAway {
            open(waiting[waitingHead], context: context)
            waitingHead += 1
            opened = true
        }
        if waitingHead == waiting.count {
            waiting.removeAll(keepingCapacity: true)
            waitingHead = 0
        }
        if opened { context.flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        buffer.writeBuffer(&bytes)
        do throws(WireError) {
            while let frame = try decoder.next(from: &buffer) { try receive(frame, context: context) }
            buffer.discardReadBytes()
            openWaiting(context: context)
        } catch {
            failAll(RPCError(code: 14, "connection error: \(error)"))
            context.close(promise: nil)
        }
    }

    private func receive(_ frame: Frame, context: ChannelHandlerContext) throws(WireError) {
        switch frame.type {
        case .hello:
            peerSettings = try WireSettings(validating: frame.control(RpcV1.Hello.self).settings ?? RpcV1.Settings())
        case .message:
            guard var call = calls[frame.streamID] else { return }
            do {
                if let message = try call.assembler.append(frame.payload, more: frame.flags.contains(.more)) {
                    call.response = message
                }
                calls[frame.streamID] = call
            } catch {
                calls[frame.streamID] = nil
                call.promise.fail(RPCError(code: error.code, error.message))
            }
            // Give the window back at once: unary responses are consumed whole.
            var out = context.channel.allocator.buffer(capacity: 26)
            Frame.windowUpdate(streamID: 0, increment: UInt32(max(frame.payload.readableBytes, 1))).write(into: &out)
            if frame.payload.readableBytes > 0 {
                Frame.windowUpdate(streamID: frame.streamID, increment: UInt32(frame.payload.readableBytes)).write(into: &out)
            }
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        case .status:
            guard let call = calls.removeValue(forKey: frame.streamID) else { return }
            let status = try frame.control(RpcV1.CallStatus.self)
            if status.code == 0, let response = call.response {
                call.promise.succeed(response)
            } else if status.code == 0 {
                call.promise.fail(RPCError(code: 13, "the server ended a unary call without a response"))
            } else {
                call.promise.fail(RPCError(code: status.code, status.message))
            }
        case .ping where !frame.flags.contains(.ack):
            var out = context.channel.allocator.buffer(capacity: 17)
            Frame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload).write(into: &out)
            context.writeAndFlush(wrapOutboundOut(out), promise: nil)
        case .goAway:
            let goAway = try frame.control(RpcV1.GoAway.self)
            goneAway = true
            for (id, call) in calls where id > goAway.lastStreamID {
                calls[id] = nil
                call.promise.fail(RPCError(code: 14, "not processed before the server went away; retry"))
            }
        default:
            return
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RPCError(code: 14, "connection closed"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RPCError(code: 14, "connection failed: \(error)"))
        context.close(promise: nil)
    }

    private func failAll(_ error: RPCError) {
        let pending = calls
        calls.removeAll()
        for call in pending.values { call.promise.fail(error) }
        let queued = waiting[waitingHead...]
        waiting.removeAll()
        waitingHead = 0
        for call in queued { call.promise.fail(error) }
    }
}

@available(*, unavailable)
extension ClientConnectionHandler: Sendable {}
