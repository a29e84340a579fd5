import NIOCore

/// Role-independent TLS settings; `TLSContext` turns them into an OpenSSL `SSL_CTX` for one role.
public struct TLSConfiguration: Sendable {
    /// PEM certificate chain (leaf first) and its private key; required for the server.
    public var certificateChainPath: String?
    public var privateKeyPath: String?
    /// PEM CA bundle: the client verifies the server against it; the server asks clients for a
    /// certificate and verifies any it gets against it (optional mutual TLS).
    public var trustedCAPath: String?
    /// Mutual TLS: the server refuses clients without a certificate signed by `trustedCAPath`.
    public var requireClientCertificate: Bool
    /// ALPN protocols, in preference order. The server accepts only these.
    public var alpnProtocols: [String]
    /// Client: host name sent as SNI and checked against the server certificate.
    public var serverName: String?
    /// Connections that have not finished the handshake by then are closed.
    public var handshakeTimeout: TimeAmount
    /// Revocation at connect: given the SHA-256 fingerprint of the peer's certificate (lowercase
    /// hex, as `TLSPeerInfo.peerCertificateSHA256`), true refuses the connection with
    /// `TLSError.Code.certificateRevoked` before any application data. Asked on the handshake
    /// path for every connection that presents a certificate, so it must answer from memory, fast,
    /// and never block. Peers without a certificate (optional mutual TLS) are not asked.
    public var certificateRevoked: (@Sendable (String) -> Bool)?
    /// Server: the keys that seal session tickets, 80 bytes (key name 16, HMAC key 32, AES key
    /// 32). Every process given the same keys accepts the others' tickets, also after a restart, so
    /// a fleet reconnecting to a restarted or another node resumes instead of paying full
    /// handshakes. nil: OpenSSL's random keys, which die with the process.
    public var sessionTicketKeys: [UInt8]?

    public static let sessionTicketKeysByteCount = 80

    public init(
        certificateChainPath: String? = nil,
        privateKeyPath: String? = nil,
        trustedCAPath: String? = nil,
        requireClientCertificate: Bool = false,
        alpnProtocols: [String] = ["wattline/1"],
        serverName: String? = nil,
        handshakeTimeout: TimeAmount = .seconds(10),
        certificateRevoked: (@Sendable (String) -> Bool)? = nil,
        sessionTicketKeys: [UInt8]? = nil
    ) {
        self.certificateChainPath = certificateChainPath
        self.privateKeyPath = privateKeyPath
        self.trustedCAPath = trustedCAPath
        self.requireClientCertificate = requireClientCertificate
        self.alpnProtocols = alpnProtocols
        self.serverName = serverName
        self.handshakeTimeout = handshakeTimeout
        self.certificateRevoked = certificateRevoked
        self.sessionTicketKeys = sessionTicketKeys
    }
}
