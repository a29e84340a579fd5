import COpenSSL
import COpenSSLShim

/// One TLS connection as a pure byte machine: ciphertext in through `receive`, ciphertext out through
/// `takeOutput`, plaintext through `write`/`readPlaintext`. No I/O, so it can be driven from NIO or from a test.
/// Not thread-safe: use it from one thread (the channel's event loop).
public final class TLSConnection {
    private let ssl: OpaquePointer
    /// Ciphertext from the peer; SSL reads it.
    private let inbound: OpaquePointer
    /// Ciphertext for the peer; SSL writes it.
    private let outbound: OpaquePointer
    public let context: TLSContext
    public private(set) var isHandshakeComplete = false
    public private(set) var receivedCloseNotify = false
    /// After a fatal error OpenSSL must not be asked to do anything else (not even shutdown).
    private var failed = false

    public init(context: TLSContext, resuming session: TLSSession? = nil) throws(TLSError) {
        ERR_clear_error()
        guard let ssl = SSL_new(context.ctx) else {
            throw TLSError.fromErrorQueue(.internalError, context: "SSL_new")
        }
        // Memory BIOs grow as needed; an empty one reports "retry", which SSL maps to WANT_READ.
        guard let inbound = BIO_new(BIO_s_mem()), let outbound = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.fromErrorQueue(.internalError, context: "BIO_new")
        }
        SSL_set_bio(ssl, inbound, outbound)  // ssl now owns both BIOs
        self.ssl = ssl
        self.inbound = inbound
        self.outbound = outbound
        self.context = context

        switch context.role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let name = context.configuration.serverName {
                // SNI is for host names only (RFC 6066); SSL_set1_host also understands IP literals.
                if !name.isIPAddressLiteral { _ = wl_SSL_set_tlsext_host_name(ssl, name) }
                if SSL_set1_host(ssl, name) != 1 {
                    throw TLSError.fromErrorQueue(.invalidConfiguration, context: "server name \(name)")
                }
            }
            if let session { _ = SSL_set_session(ssl, session.pointer) }
        }
    }

    deinit {
        SSL_free(ssl)
    }

    // MARK: Ciphertext

    /// Hands ciphertext received from the network to OpenSSL.
    public func receive(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0, let base = bytes.baseAddress else { return }
        var written = 0
        _ = BIO_write_ex(inbound, base, bytes.count, &written)  // memory BIO: takes everything
    }

    public func receive(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { receive($0) }
    }

    public var hasOutput: Bool { BIO_ctrl_pending(outbound) > 0 }

    /// Ciphertext that must be sent to the peer (handshake messages, records, alerts).
    public func takeOutput() -> [UInt8] {
        let pending = Int(BIO_ctrl_pending(outbound))
        guard pending > 0 else { return [] }
        return [UInt8](unsafeUninitializedCapacity: pending) { buffer, count in
            var read = 0
            _ = BIO_read_ex(outbound, buffer.baseAddress, pending, &read)
            count = read
        }
    }

    // MARK: Handshake

    /// Advances the handshake with the input received so far. Returns true once it is complete;
    /// false means more peer input is needed (send `takeOutput()` first).
    @discardableResult
    public func handshake() throws(TLSError) -> Bool {
        if isHandshakeComplete { return true }
        try ensureUsable()
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            try refuseRevokedPeer()
            isHandshakeComplete = true
            return true
        }
        try classify(result, during: "handshake")
        return false
    }

    /// Revocation at connect, on every completed handshake (TLSRevocation.swift says why the verify
    /// callback is not enough). Queues our close_notify after the handshake's last output, so the
    /// peer sees a clean close and the handshake counts as failed; no application data is read.
    private func refuseRevokedPeer() throws(TLSError) {
        guard let isRevoked = context.configuration.certificateRevoked, let cert = SSL_get1_peer_certificate(ssl) else {
            return
        }
        defer { X509_free(cert) }
        let fingerprint = sha256Fingerprint(of: cert)
        if let fingerprint, !isRevoked(fingerprint) { return }  // no fingerprint (libcrypto failed): refuse
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
        failed = true
        throw TLSError(.certificateRevoked, "peer certificate \(fingerprint ?? "(no fingerprint)") is revoked")
    }

    public var peerInfo: TLSPeerInfo {
        TLSPeerInfo(
            protocolVersion: SSL_get_version(ssl).map { String(cString: $0) } ?? "unknown",
            cipher: SSL_get_current_cipher(ssl).flatMap { SSL_CIPHER_get_name($0) }.map { String(cString: $0) } ?? "none",
            alpnProtocol: negotiatedALPN,
            peerSubject: peerCertificate { cert in
                guard let line = X509_NAME_oneline(X509_get_subject_name(cert), nil, 0) else { return nil }
                defer { wl_OPENSSL_free(line) }
                return String(cString: line)
            },
            peerCertificateSHA256: peerCertificate { sha256Fingerprint(of: $0) },
            resumed: SSL_session_reused(ssl) == 1
        )
    }

    private var negotiatedALPN: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    private func peerCertificate(_ body: (OpaquePointer) -> String?) -> String? {
        guard let cert = SSL_get1_peer_certificate(ssl) else { return nil }
        defer { X509_free(cert) }
        return body(cert)
    }

    /// The session to offer on the next connection to the same server. With TLS 1.3 the ticket arrives
    /// after the handshake, so ask after some application data has been read.
    public var session: TLSSession? {
        guard let pointer = SSL_get1_session(ssl) else { return nil }
        return TLSSession(takingOwnershipOf: pointer)
    }

    // MARK: Application data

    /// Encrypts plaintext; the records appear in `takeOutput()`. Only after the handshake.
    public func write(_ plaintext: UnsafeRawBufferPointer) throws(TLSError) {
        guard isHandshakeComplete else { throw TLSError(.internalError, "write before the handshake completed") }
        try ensureUsable()
        var offset = 0
        while offset < plaintext.count {
            ERR_clear_error()
            var written = 0
            let result = SSL_write_ex(ssl, plaintext.baseAddress! + offset, plaintext.count - offset, &written)
            if result == 1 {
                offset += written
            } else {
                try classify(result, during: "write")
                throw TLSError(.internalError, "SSL_write made no progress")
            }
        }
    }

    public func write(_ plaintext: [UInt8]) throws(TLSError) {
        // withUnsafeBytes rethrows untyped errors, so carry the typed one out by hand.
        let failure: TLSError? = plaintext.withUnsafeBytes { bytes in
            do throws(TLSError) { try write(bytes); return nil } catch { return error }
        }
        if let failure { throw failure }
    }

    /// Decrypts everything that can be decrypted from the input so far. Sets `receivedCloseNotify`
    /// when the peer closed cleanly.
    public func readPlaintext() throws(TLSError) -> [UInt8] {
        guard isHandshakeComplete, !receivedCloseNotify else { return [] }
        try ensureUsable()
        var plaintext: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16_384)
        while true {
            ERR_clear_error()
            var read = 0
            let result = SSL_read_ex(ssl, &chunk, chunk.count, &read)
            if result == 1 {
                plaintext.append(contentsOf: chunk.prefix(read))
                continue
            }
            if SSL_get_error(ssl, result) == SSL_ERROR_ZERO_RETURN {
                receivedCloseNotify = true
                return plaintext
            }
            try classify(result, during: "read")
            return plaintext
        }
    }

    // MARK: Closing

    /// Queues our close_notify in `takeOutput()`. Safe to call at any time; a no-op after a fatal error.
    public func close() {
        guard !failed, isHandshakeComplete else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
        ERR_clear_error()
    }

    // MARK: Errors

    private func ensureUsable() throws(TLSError) {
        if failed { throw TLSError(.internalError, "connection already failed") }
    }

    /// Returns when the call only needs more input; throws for anything fatal.
    private func classify(_ result: Int32, during operation: String) throws(TLSError) {
        let code = SSL_get_error(ssl, result)
        switch code {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return
        case SSL_ERROR_ZERO_RETURN:
            // Only reachable mid-handshake (readPlaintext handles it itself): the peer gave up.
            failed = true
            throw TLSError(.handshakeFailed, "peer sent close_notify during \(operation)")
        default:
            failed = true
            let messages = TLSError.drainErrorQueue()
            let verify = SSL_get_verify_result(ssl)
            var reason = "\(operation) failed (SSL_get_error \(code))"
            if !messages.isEmpty { reason += ": " + messages.joined(separator: "; ") }
            if verify != Int(X509_V_OK), let text = X509_verify_cert_error_string(verify) {
                reason += " [verify: \(String(cString: text))]"
                throw TLSError(verify == Int(X509_V_ERR_CERT_REVOKED) ? .certificateRevoked : .certificateRejected, reason)
            }
            throw TLSError(Self.errorCode(for: messages, handshakeDone: isHandshakeComplete), reason)
        }
    }

    static func errorCode(for messages: [String], handshakeDone: Bool) -> TLSError.Code {
        let text = messages.joined(separator: " ").lowercased()
        if text.contains("certificate revoked") { return .certificateRevoked }  // the peer's certificate_revoked alert
        if text.contains("certificate") { return .certificateRejected }
        let notTLS = ["http request", "https proxy request", "wrong version number", "packet length too long",
                      "record layer failure", "unexpected message", "bad record", "record length mismatch"]
        if notTLS.contains(where: text.contains) { return .protocolViolation }
        return handshakeDone ? .protocolViolation : .handshakeFailed
    }
}

extension String {
    /// IPv4 dotted quad or anything with a colon (IPv6): never sent as SNI.
    var isIPAddressLiteral: Bool {
        if contains(":") { return true }
        let parts = split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { UInt8($0) != nil }
    }
}
