import NIOCore
import NIOPosix
import WattlineTLS

/// One short-lived connection: TCP connect, TLS handshake (resuming `session` if given), one `Exchange`, then a clean
/// close (close_notify both ways). Everything runs on `loop`: no thread hops, and `address` is already resolved
/// (connecting by host name would run getaddrinfo on another thread for every connection).
func probe(on loop: any EventLoop, to address: SocketAddress, tls: TLSContext, resuming session: TLSSession?,
           exchange: Exchange) -> EventLoopFuture<ProbeHandler.Outcome> {
    let done = loop.makePromise(of: ProbeHandler.Outcome.self)
    return ClientBootstrap(group: loop)
        .channelOption(.socketOption(.tcp_nodelay), value: 1)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                let handler = try TLSHandler(context: tls, resuming: session)
                try channel.pipeline.syncOperations.addHandler(handler)
                try channel.pipeline.syncOperations.addHandler(ProbeHandler(tls: handler, exchange: exchange, done: done))
            }
        }
        .connect(to: address)
        .flatMapError { error in
            done.fail(error)  // no channel, so nothing else would complete it
            return loop.makeFailedFuture(error)
        }
        .flatMap { channel in
            let timeout = loop.scheduleTask(in: .seconds(10)) {
                done.fail(BenchmarkError("probe timed out"))
                channel.close(promise: nil)
            }
            return done.futureResult
                .flatMap { outcome in channel.closeFuture.map { outcome } }  // counted once fully closed
                .flatMapError { error in
                    channel.close(promise: nil)
                    return loop.makeFailedFuture(error)
                }
                .always { _ in timeout.cancel() }
        }
}

/// Sends the exchange's request (TLSHandler holds it until the handshake is done), waits for the full reply,
/// takes the session, then closes.
final class ProbeHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    struct Outcome: Sendable {
        var resumed: Bool
        var session: TLSSession?
    }

    private let tls: TLSHandler
    private let exchange: Exchange
    private let done: EventLoopPromise<Outcome>
    private var reply = ByteBuffer()
    private var resumed = false
    private var finished = false

    init(tls: TLSHandler, exchange: Exchange, done: EventLoopPromise<Outcome>) {
        self.tls = tls
        self.exchange = exchange
        self.done = done
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: exchange.request)), promise: nil)
        context.fireChannelActive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let completed = event as? TLSHandshakeCompleted { resumed = completed.info.resumed }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !finished else { return }
        var bytes = unwrapInboundIn(data)
        reply.writeBuffer(&bytes)
        switch exchange.progress(reply) {
        case .incomplete:
            return
        case .complete:
            finish(context: context, .success(Outcome(resumed: resumed, session: tls.connection.session)))
        case .unexpected(let what):
            finish(context: context, .failure(BenchmarkError("unexpected reply: \(what)")))
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        finish(context: context, .failure(error))
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(context: context, .failure(BenchmarkError("connection closed before the reply")))
        context.fireChannelInactive()
    }

    private func finish(context: ChannelHandlerContext, _ result: Result<Outcome, Error>) {
        guard !finished else { return }
        finished = true
        done.completeWith(result)
        context.close(promise: nil)
    }
}
