import COpenSSL

// Revocation at connect (`TLSConfiguration.certificateRevoked`), checked twice:
//
// - in the verify callback below, for full handshakes: the leaf's fingerprint is looked up once
//   its chain has verified, and a revoked one fails verification with X509_V_ERR_CERT_REVOKED,
//   which libssl answers with a certificate_revoked alert; the handshake never completes, so no
//   session ticket is issued for it either;
// - by `TLSConnection` when any handshake completes, because a resumed session carries no
//   certificate and so never reaches the callback: a logger revoked after it got a ticket would
//   otherwise be let back in for the ticket's lifetime.

/// The `SSL_CTX` ex-data slot holding the (unretained) `TLSContext`: the app-data slot 0, which
/// `SSL_CTX_set_app_data` also uses. A `TLSContext` outlives every SSL made from it, since each
/// `TLSConnection` holds its context.
let tlsContextExDataIndex: Int32 = 0

/// SSL verify callback: libssl calls it for each certificate of the peer's chain, the leaf
/// (depth 0) last; `preverified` says whether OpenSSL's own checks passed at that depth.
func refuseRevokedCertificate(_ preverified: Int32, _ store: OpaquePointer?) -> Int32 {
    guard preverified == 1, let store, X509_STORE_CTX_get_error_depth(store) == 0 else { return preverified }
    guard let ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()),
        let ctx = SSL_get_SSL_CTX(OpaquePointer(ssl)),
        let contextPointer = SSL_CTX_get_ex_data(ctx, tlsContextExDataIndex)
    else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED)  // cannot ask: fail closed
        return 0
    }
    let context = Unmanaged<TLSContext>.fromOpaque(contextPointer).takeUnretainedValue()
    guard let isRevoked = context.configuration.certificateRevoked else { return 1 }
    guard let certificate = X509_STORE_CTX_get_current_cert(store), let fingerprint = sha256Fingerprint(of: certificate) else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_UNSPECIFIED)
        return 0
    }
    guard !isRevoked(fingerprint) else {
        X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REVOKED)
        return 0
    }
    return 1
}

/// SHA-256 of the certificate's DER, lowercase hex; nil only if libcrypto fails.
func sha256Fingerprint(of certificate: OpaquePointer) -> String? {
    var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard X509_digest(certificate, EVP_sha256(), &digest, &length) == 1 else {
        ERR_clear_error()
        return nil
    }
    return digest.prefix(Int(length)).map { byte in
        let hex = String(byte, radix: 16)
        return hex.count == 1 ? "0" + hex : hex
    }.joined()
}
