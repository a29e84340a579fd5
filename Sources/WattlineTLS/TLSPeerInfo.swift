/// What the handshake established; for mutual TLS the certificate fields are the client's identity.
public struct TLSPeerInfo: Sendable, Hashable {
    /// e.g. "TLSv1.3".
    public var protocolVersion: String
    /// OpenSSL cipher name, e.g. "TLS_AES_128_GCM_SHA256".
    public var cipher: String
    public var alpnProtocol: String?
    /// One-line X.509 subject of the peer certificate, e.g. "/CN=meter-gateway-7".
    public var peerSubject: String?
    /// SHA-256 of the peer certificate's DER, lowercase hex.
    public var peerCertificateSHA256: String?
    public var resumed: Bool
}

/// Fired through the pipeline by `TLSHandler` once the handshake is done.
public struct TLSHandshakeCompleted: Sendable, Hashable {
    public var info: TLSPeerInfo
}
