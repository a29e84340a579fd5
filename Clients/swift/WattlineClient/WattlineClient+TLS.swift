import NIOConcurrencyHelpers
import NIOCore
import WattlineTLS

extension WattlineClient {
    /// A client that speaks TLS (OpenSSL, ALPN `wattline/1`) to `host`: the server is verified
    /// against `caPath` (the system's trust store is not used) and `serverName` (default: `host`,
    /// or "localhost" for 127.0.0.1). Loggers add their client certificate and key for mutual TLS.
    /// Each reconnection offers the session ticket of the previous connection, so a fleet coming
    /// back after a server restart of the same deployment skips most full handshakes.
    public convenience init(
        host: String, port: Int = 7443, caPath: String, serverName: String? = nil,
        clientCertificatePath: String? = nil, clientKeyPath: String? = nil, backoff: Backoff = .default
    ) throws {
        let context = try TLSContext(configuration: TLSConfiguration(
            certificateChainPath: clientCertificatePath, privateKeyPath: clientKeyPath, trustedCAPath: caPath,
            serverName: serverName ?? (host == "127.0.0.1" ? "localhost" : host)), role: .client)
        let lastSession = NIOLockedValueBox<TLSSession?>(nil)
        self.init(host: host, port: port, backoff: backoff) { channel in
            let tls = try TLSHandler(context: context, resuming: lastSession.withLockedValue { $0 })
            try channel.pipeline.syncOperations.addHandler(tls)
            try channel.pipeline.syncOperations.addHandler(SessionKeeper(tls: tls, memory: lastSession))
        }
    }
}

/// Takes the connection's resumable session (a TLS 1.3 ticket arrives just after the handshake)
/// for the next connection, then passes everything through.
private final class SessionKeeper: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let tls: TLSHandler
    private let memory: NIOLockedValueBox<TLSSession?>
    private var kept = false

    init(tls: TLSHandler, memory: NIOLockedValueBox<TLSSession?>) {
        self.tls = tls
        self.memory = memory
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if !kept, let session = tls.connection.session, session.isResumable {
            memory.withLockedValue { $0 = session }
            kept = true
        }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension SessionKeeper: Sendable {}
