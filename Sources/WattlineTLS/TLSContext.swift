import COpenSSL
import COpenSSLShim

public enum TLSRole: Sendable {
    case server
    case client
}

/// Wattline's TLS policy applied to one OpenSSL `SSL_CTX`. Cheap to build, immutable once built,
/// so a certificate reload simply builds a new one (see `TLSContextProvider`).
public final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is only configured in init; afterwards OpenSSL allows concurrent SSL_new.
    let ctx: OpaquePointer
    public let role: TLSRole
    public let configuration: TLSConfiguration
    /// ALPN protocols in wire format (length-prefixed), read by the server's select callback.
    let alpnWire: [UInt8]

    /// TLS 1.2 only: ECDHE key exchange with AEAD ciphers. TLS 1.3 suites are all AEAD, so OpenSSL's default stays.
    public static let tls12CipherList =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
        + "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
    public static let groups = "X25519:P-256:P-384"

    // SSL_OP_* are SSL_OP_BIT(n) macros, which Swift cannot import; the bit numbers are from ssl.h (OpenSSL 3).
    static let opNoCompression: UInt64 = 1 << 17
    static let opCipherServerPreference: UInt64 = 1 << 22
    static let opNoRenegotiation: UInt64 = 1 << 30

    public init(configuration: TLSConfiguration, role: TLSRole) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(role == .server ? TLS_server_method() : TLS_client_method()) else {
            throw TLSError.fromErrorQueue(.internalError, context: "SSL_CTX_new")
        }
        self.ctx = ctx
        self.role = role
        self.configuration = configuration
        self.alpnWire = configuration.alpnProtocols.flatMap { name -> [UInt8] in
            let bytes = Array(name.utf8.prefix(255))
            return [UInt8(bytes.count)] + bytes
        }
        // From here on, a throw runs deinit, which frees ctx.
        try applyPolicy()
        switch role {
        case .server: try configureServer()
        case .client: try configureClient()
        }
    }

    deinit {
        SSL_CTX_free(ctx)
    }

    private func check(_ ok: Bool, _ what: String) throws(TLSError) {
        if !ok { throw TLSError.fromErrorQueue(.invalidConfiguration, context: what) }
    }

    private func applyPolicy() throws(TLSError) {
        try check(wl_SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1, "min protocol TLS 1.2")
        try check(wl_SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) == 1, "max protocol TLS 1.3")
        try check(SSL_CTX_set_cipher_list(ctx, Self.tls12CipherList) == 1, "TLS 1.2 cipher list")
        try check(wl_SSL_CTX_set1_groups_list(ctx, Self.groups) == 1, "groups")
        var options = Self.opNoCompression | Self.opNoRenegotiation
        if role == .server { options |= Self.opCipherServerPreference }
        _ = SSL_CTX_set_options(ctx, options)
        // Without this each SSL keeps a ~17 KiB read and a ~17 KiB write record buffer for its whole life; with it
        // they are freed whenever empty, which on an idle connection is always (ConnectionBenchmark measures it).
        _ = wl_SSL_CTX_set_mode(ctx, Int(SSL_MODE_RELEASE_BUFFERS))
        // Early data (0-RTT) stays off: OpenSSL's default max_early_data is 0, and replayable data is not worth it here.
    }

    private func configureServer() throws(TLSError) {
        guard let chain = configuration.certificateChainPath, let key = configuration.privateKeyPath else {
            throw TLSError(.invalidConfiguration, "server needs certificateChainPath and privateKeyPath")
        }
        try check(SSL_CTX_use_certificate_chain_file(ctx, chain) == 1, "certificate chain \(chain)")
        try check(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1, "private key \(key)")
        try check(SSL_CTX_check_private_key(ctx) == 1, "private key does not match certificate")
        // Resumption: server-side cache plus (default-on) session tickets. The id context is required
        // for resumption once client certificates are verified.
        _ = wl_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_SERVER))
        let sidContext = Array("wattline".utf8)
        try check(SSL_CTX_set_session_id_context(ctx, sidContext, UInt32(sidContext.count)) == 1, "session id context")
        if var keys = configuration.sessionTicketKeys {
            guard keys.count == TLSConfiguration.sessionTicketKeysByteCount else {
                throw TLSError(.invalidConfiguration, "session ticket keys are \(TLSConfiguration.sessionTicketKeysByteCount) bytes, got \(keys.count)")
            }
            try check(wl_SSL_CTX_set_tlsext_ticket_keys(ctx, &keys, keys.count) == 1, "session ticket keys")
        }

        // With a client CA, certificates are asked for and verified; required only for mutual-TLS-only
        // servers. Optional lets loggers (certificate) and apps (bearer token) share one port.
        if let ca = configuration.trustedCAPath {
            try check(SSL_CTX_load_verify_locations(ctx, ca, nil) == 1, "trusted CA \(ca)")
            if let names = SSL_load_client_CA_file(ca) { SSL_CTX_set_client_CA_list(ctx, names) }
            let required = configuration.requireClientCertificate ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0
            SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | required, try revocationCallback())
        } else if configuration.requireClientCertificate {
            throw TLSError(.invalidConfiguration, "mutual TLS needs trustedCAPath")
        }
        if !configuration.alpnProtocols.isEmpty {
            SSL_CTX_set_alpn_select_cb(ctx, alpnSelect, Unmanaged.passUnretained(self).toOpaque())
            // The select callback only runs when the client offers ALPN; a client offering none is refused here.
            SSL_CTX_set_client_hello_cb(ctx, requireALPNExtension, nil)
        }
    }

    /// The verify callback that asks `certificateRevoked` (TLSRevocation.swift), or nil without one.
    private func revocationCallback() throws(TLSError) -> SSL_verify_cb? {
        guard configuration.certificateRevoked != nil else { return nil }
        try check(SSL_CTX_set_ex_data(ctx, tlsContextExDataIndex, Unmanaged.passUnretained(self).toOpaque()) == 1, "SSL_CTX_set_ex_data")
        return refuseRevokedCertificate
    }

    private func configureClient() throws(TLSError) {
        if let ca = configuration.trustedCAPath {
            try check(SSL_CTX_load_verify_locations(ctx, ca, nil) == 1, "trusted CA \(ca)")
        } else {
            try check(SSL_CTX_set_default_verify_paths(ctx) == 1, "system trust store")
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, try revocationCallback())
        if let chain = configuration.certificateChainPath, let key = configuration.privateKeyPath {
            try check(SSL_CTX_use_certificate_chain_file(ctx, chain) == 1, "client certificate \(chain)")
            try check(SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1, "client key \(key)")
            try check(SSL_CTX_check_private_key(ctx) == 1, "client key does not match certificate")
        }
        // No client-side cache: OpenSSL never looks sessions up in it (resumption offers `TLSConnection.session`
        // explicitly), so it would only keep every ticket alive, up to 20,480 of them (ConnectionBenchmark's client
        // process held 17 MB more after 6,000 resumed connections).
        _ = wl_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        if !alpnWire.isEmpty {
            // Inverted convention: 0 means success.
            try check(SSL_CTX_set_alpn_protos(ctx, alpnWire, UInt32(alpnWire.count)) == 0, "ALPN protocols")
        }
    }
}

/// Early ClientHello check: no ALPN extension at all → fatal no_application_protocol, like a mismatch.
private func requireALPNExtension(
    _ ssl: OpaquePointer?, _ alert: UnsafeMutablePointer<Int32>?, _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    var data: UnsafePointer<UInt8>?
    var length = 0
    if SSL_client_hello_get0_ext(ssl, UInt32(TLSEXT_TYPE_application_layer_protocol_negotiation), &data, &length) == 1 {
        return SSL_CLIENT_HELLO_SUCCESS
    }
    alert?.pointee = SSL_AD_NO_APPLICATION_PROTOCOL
    return SSL_CLIENT_HELLO_ERROR
}

/// Server ALPN: pick the first of our protocols the client offers; no overlap → fatal no_application_protocol.
private func alpnSelect(
    _ ssl: OpaquePointer?,
    _ out: UnsafeMutablePointer<UnsafePointer<UInt8>?>?,
    _ outLength: UnsafeMutablePointer<UInt8>?,
    _ offered: UnsafePointer<UInt8>?,
    _ offeredLength: UInt32,
    _ arg: UnsafeMutableRawPointer?
) -> Int32 {
    guard let arg, let offered, let out, let outLength else { return SSL_TLSEXT_ERR_ALERT_FATAL }
    let context = Unmanaged<TLSContext>.fromOpaque(arg).takeUnretainedValue()
    let client = UnsafeBufferPointer(start: offered, count: Int(offeredLength))
    for name in context.configuration.alpnProtocols {
        let wanted = Array(name.utf8)
        var index = 0
        while index < client.count {
            let length = Int(client[index])
            let start = index + 1
            guard start + length <= client.count else { break }
            if length == wanted.count && client[start..<start + length].elementsEqual(wanted) {
                out.pointee = offered + start
                outLength.pointee = UInt8(length)
                return SSL_TLSEXT_ERR_OK
            }
            index = start + length
        }
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL
}
