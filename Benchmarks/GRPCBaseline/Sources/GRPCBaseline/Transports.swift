// HTTP/2 over TLS 1.3 on loopback with the PEM files of Scripts/lib/dev-certs. Every other
// transport setting is grpc-swift-nio-transport's default: this is the out-of-the-box baseline.
import GRPCCore
import GRPCNIOTransportHTTP2Posix

struct Certificates: Sendable {
    let directory: String

    func server(port: Int) -> HTTP2ServerTransport.Posix {
        HTTP2ServerTransport.Posix(
            address: .ipv4(host: "127.0.0.1", port: port),
            transportSecurity: .tls(
                certificateChain: [.file(path: directory + "/server.pem", format: .pem)],
                privateKey: .file(path: directory + "/server.key", format: .pem)))
    }

    /// Connects to 127.0.0.1 but verifies the certificate for "localhost": the authority is also the
    /// TLS server name (SNI and hostname check).
    func client(port: Int) throws -> HTTP2ClientTransport.Posix {
        try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port),
            transportSecurity: .tls {
                $0.trustRoots = .certificates([.file(path: directory + "/ca.pem", format: .pem)])
                $0.serverCertificateVerification = .fullVerification
            },
            config: .defaults { $0.http2.authority = "localhost" })
    }
}

/// The port a server transport bound (it is asked for port 0).
func boundPort(_ server: GRPCServer<HTTP2ServerTransport.Posix>) async throws -> Int {
    guard let port = try await server.transport.listeningAddress.ipv4?.port else {
        throw RPCError(code: .internalError, message: "server is not listening on IPv4")
    }
    return port
}
