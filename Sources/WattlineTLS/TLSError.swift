import COpenSSL

/// The one error type of WattlineTLS: a stable code to switch on, plus OpenSSL's own words for logs.
public struct TLSError: Error, Hashable, Sendable, CustomStringConvertible {
    /// Extensible: new codes are added as static members, so callers should keep a default case.
    public struct Code: Hashable, Sendable, RawRepresentable, CustomStringConvertible {
        public var rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// Configuration could not be applied (bad PEM path, key mismatch, rejected policy string).
        public static let invalidConfiguration = Code(rawValue: "invalidConfiguration")
        public static let handshakeFailed = Code(rawValue: "handshakeFailed")
        public static let handshakeTimedOut = Code(rawValue: "handshakeTimedOut")
        /// A certificate failed verification, or a required one was missing.
        public static let certificateRejected = Code(rawValue: "certificateRejected")
        /// The certificate verified but `TLSConfiguration.certificateRevoked` refused it (on the
        /// client: the server answered with a certificate_revoked alert).
        public static let certificateRevoked = Code(rawValue: "certificateRevoked")
        /// The peer sent bytes that are not valid TLS (e.g. plain HTTP to the TLS port).
        public static let protocolViolation = Code(rawValue: "protocolViolation")
        /// The transport ended without a close_notify: the data may have been truncated.
        public static let closedWithoutNotify = Code(rawValue: "closedWithoutNotify")
        public static let internalError = Code(rawValue: "internalError")
    }

    public var code: Code
    public var reason: String

    public init(_ code: Code, _ reason: String = "") {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason.isEmpty ? "TLSError(\(code))" : "TLSError(\(code)): \(reason)" }

    /// Builds an error from (and empties) this thread's OpenSSL error queue.
    static func fromErrorQueue(_ code: Code, context: String) -> TLSError {
        let queued = drainErrorQueue()
        return TLSError(code, queued.isEmpty ? context : "\(context): \(queued.joined(separator: "; "))")
    }

    static func drainErrorQueue() -> [String] {
        var messages: [String] = []
        while true {
            let error = ERR_get_error()
            if error == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(error, &buffer, buffer.count)
            messages.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        return messages
    }
}
