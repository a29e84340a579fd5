import WattlineTLS
import WattlineWire

/// The TLS handshake tells the protocol layer who the peer is (mutual TLS for loggers).
extension TLSHandshakeCompleted: PeerIdentityEvent {
    public var peerIdentity: PeerIdentity {
        PeerIdentity(
            certificateSubject: info.peerSubject, certificateSHA256: info.peerCertificateSHA256,
            tlsVersion: info.protocolVersion
        ).resumed(info.resumed)
    }
}
