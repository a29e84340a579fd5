import COpenSSL

extension CryptoError {
    /// An `.openssl` error for `operation`, carrying (and draining) this thread's OpenSSL error
    /// queue, so a stale entry never surfaces in a later, unrelated error.
    static func openssl(_ operation: String) -> CryptoError {
        var reasons: [String] = []
        var buffer = [CChar](repeating: 0, count: 256)
        while case let code = ERR_get_error(), code != 0 {
            ERR_error_string_n(code, &buffer, buffer.count)
            reasons.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        let detail = reasons.isEmpty ? "no OpenSSL error queued" : reasons.joined(separator: "; ")
        return CryptoError(.openssl, "\(operation) failed: \(detail)")
    }
}

/// Throws an `.openssl` error unless `result` is libcrypto's success value (1).
@inline(__always)
func checkOpenSSL(_ result: Int32, _ operation: @autoclosure () -> String) throws {
    guard result == 1 else { throw CryptoError.openssl(operation()) }
}
