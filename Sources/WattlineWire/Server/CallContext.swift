import WattlineProtos

/// What a handler knows about its call.
public struct CallContext: Sendable {
    public let method: String
    public let kind: ProtoCallKind
    /// When the call must be finished by (from the client's `timeout_ms`), if any.
    public let deadline: ContinuousClock.Instant?
    public let metadata: [RpcV1.MetadataEntry]
    /// The bearer credential, for the authentication interceptor; never log it.
    public let authorization: String
    /// Who is at the other end of the connection (TLS client certificate, address).
    public let peer: PeerIdentity
    /// Set by interceptors (the authenticated caller, for instance); nil until one does.
    public var principal: (any Sendable)?
    /// The tenant the call acts in (set by the access interceptor, from the request or the
    /// credentials); the store's transaction scope for the call.
    public var tenantID: String?
    /// The decoded request of a unary or server-streaming call, for interceptors that decide on
    /// its content (the access interceptor reads the tenant it names); nil for request streams.
    public private(set) var request: (any ProtoMessage)?

    public init(
        method: String, kind: ProtoCallKind, deadline: ContinuousClock.Instant?,
        metadata: [RpcV1.MetadataEntry], authorization: String, peer: PeerIdentity
    ) {
        self.method = method
        self.kind = kind
        self.deadline = deadline
        self.metadata = metadata
        self.authorization = authorization
        self.peer = peer
    }

    /// The same context carrying its decoded request (the router does this before interceptors run).
    public func with(_ request: any ProtoMessage) -> CallContext {
        var copy = self
        copy.request = request
        return copy
    }

    /// The text value of metadata `key`, if present.
    public func metadata(_ key: String) -> String? {
        for entry in metadata where entry.key == key {
            if case .text(let text) = entry.value { return text }
        }
        return nil
    }
}

/// The connection's peer as the transport below the protocol established it.
public struct PeerIdentity: Sendable, Hashable {
    /// One-line X.509 subject of a verified client certificate (mutual TLS), e.g. "/CN=logger-7".
    public var certificateSubject: String?
    /// SHA-256 of that certificate's DER, lowercase hex.
    public var certificateSHA256: String?
    /// "TLSv1.3" and the like; nil before the handshake or without TLS.
    public var tlsVersion: String?
    /// Whether the TLS session was resumed from a ticket (no full handshake).
    public var tlsResumed = false
    /// The remote socket address, for logs and throttling.
    public var remoteAddress: String?

    public init(certificateSubject: String? = nil, certificateSHA256: String? = nil, tlsVersion: String? = nil, remoteAddress: String? = nil) {
        self.certificateSubject = certificateSubject
        self.certificateSHA256 = certificateSHA256
        self.tlsVersion = tlsVersion
        self.remoteAddress = remoteAddress
    }
}

extension PeerIdentity {
    /// The same identity, marked as coming from a resumed TLS session or not.
    public func resumed(_ resumed: Bool) -> PeerIdentity {
        var copy = self
        copy.tlsResumed = resumed
        return copy
    }
}

/// A user event through which the transport below (TLS) tells the connection who the peer is;
/// `TLSHandshakeCompleted` conforms where both modules are imported.
public protocol PeerIdentityEvent: Sendable {
    var peerIdentity: PeerIdentity { get }
}

/// Why a call ends with a status other than OK while the connection carries on (docs/protocol.md
/// §7): thrown by handlers and interceptors, and by the protocol layer for per-call limits. The
/// server sends it as `STATUS`, the client as `CANCEL`.
public struct CallFailure: Error, Hashable, Sendable, CustomStringConvertible {
    /// gRPC canonical status code.
    public let code: UInt32
    public let message: String

    public init(code: UInt32, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "status \(code): \(message)" }

    public static func cancelled(_ message: String = "cancelled") -> CallFailure { CallFailure(code: 1, message) }
    public static func invalidArgument(_ message: String) -> CallFailure { CallFailure(code: 3, message) }
    public static func deadlineExceeded(_ message: String = "deadline exceeded") -> CallFailure { CallFailure(code: 4, message) }
    public static func notFound(_ message: String) -> CallFailure { CallFailure(code: 5, message) }
    public static func alreadyExists(_ message: String) -> CallFailure { CallFailure(code: 6, message) }
    public static func permissionDenied(_ message: String) -> CallFailure { CallFailure(code: 7, message) }
    public static func resourceExhausted(_ message: String) -> CallFailure { CallFailure(code: 8, message) }
    public static func failedPrecondition(_ message: String) -> CallFailure { CallFailure(code: 9, message) }
    public static func aborted(_ message: String) -> CallFailure { CallFailure(code: 10, message) }
    public static func outOfRange(_ message: String) -> CallFailure { CallFailure(code: 11, message) }
    public static func unimplemented(_ message: String) -> CallFailure { CallFailure(code: 12, message) }
    public static func internalError(_ message: String = "internal error") -> CallFailure { CallFailure(code: 13, message) }
    public static func unavailable(_ message: String) -> CallFailure { CallFailure(code: 14, message) }
    public static func unauthenticated(_ message: String) -> CallFailure { CallFailure(code: 16, message) }
}
