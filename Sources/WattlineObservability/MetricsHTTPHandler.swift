import NIOCore
import NIOHTTP1
import Prometheus

/// Answers one request per connection, then closes: `GET /metrics` gets the registry in the
/// Prometheus text format, other paths 404, other methods 405, oversized or malformed requests
/// 413 / 400. Closing after each answer keeps no idle connections (a scrape every few seconds
/// does not need keep-alive).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?
    /// At most one response per connection, whatever else arrives.
    private var responded = false

    init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break  // a GET has no use for a body; the guard bounds its size
        case .end:
            guard let head else { return }
            answer(head, context: context)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is ScrapeConnectionGuard.RequestTooLarge else {
            return context.fireUserInboundEventTriggered(event)
        }
        respond(.payloadTooLarge, context: context)
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A parse error: answer 400 before the decoder closes. Anything else (a reset): just close.
        guard error is HTTPParserError else { return context.close(promise: nil) }
        respond(.badRequest, context: context)
    }

    private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard head.method == .GET else {
            return respond(.methodNotAllowed, extraHeaders: [("Allow", "GET")], context: context)
        }
        let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        guard path == "/metrics" else { return respond(.notFound, context: context) }
        respond(.ok, contentType: Self.contentType, body: registry.emitToBuffer(), context: context)
    }

    private func respond(
        _ status: HTTPResponseStatus, contentType: String = "text/plain; charset=utf-8", body: [UInt8]? = nil,
        extraHeaders: [(String, String)] = [], context: ChannelHandlerContext
    ) {
        guard !responded else { return }
        responded = true
        let body = body ?? Array("\(status.code) \(status.reasonPhrase)\n".utf8)
        var headers = HTTPHeaders([
            ("Content-Type", contentType), ("Content-Length", String(body.count)), ("Connection", "close"),
        ])
        headers.add(contentsOf: extraHeaders)
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in channel.close(promise: nil) }
    }
}
