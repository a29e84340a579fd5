import NIOCore

/// First handler of a metrics connection: bounds what one client may cost. A connection may carry
/// at most `maxRequestBytes` and live at most `timeout` (slow, idle or stuck clients are closed);
/// past the byte limit it drops further input and tells the HTTP handler, which answers 413.
final class ScrapeConnectionGuard: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// Fired inbound when the client sent more than `maxRequestBytes`.
    struct RequestTooLarge {}

    private let maxRequestBytes: Int
    private let timeout: TimeAmount
    private var received = 0
    private var deadline: Scheduled<Void>?

    init(maxRequestBytes: Int, timeout: TimeAmount) {
        self.maxRequestBytes = maxRequestBytes
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        deadline = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard received <= maxRequestBytes else { return }
        received += unwrapInboundIn(data).readableBytes
        guard received <= maxRequestBytes else {
            context.fireUserInboundEventTriggered(RequestTooLarge())
            return
        }
        context.fireChannelRead(data)
    }
}
