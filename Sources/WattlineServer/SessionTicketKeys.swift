import WattlineCrypto
import WattlineTLS

/// The 80 bytes OpenSSL seals session tickets with (name, HMAC key, AES key), derived from one
/// 32-byte secret file so that nodes sharing the file accept each other's tickets. Replacing the
/// file rotates them: tickets issued before then fall back to a full handshake once.
func sessionTicketKeys(from secret: SecretKey) throws -> [UInt8] {
    func bytes(_ label: String, _ count: Int) throws -> [UInt8] {
        try secret.derive(label: label).withUnsafeBytes { Array($0.prefix(count)) }
    }
    let keys = try bytes("tls-ticket-name", 16) + bytes("tls-ticket-hmac", 32) + bytes("tls-ticket-aes", 32)
    precondition(keys.count == TLSConfiguration.sessionTicketKeysByteCount)
    return keys
}
