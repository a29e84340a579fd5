import WattlineProtos

/// How one call is made.
public struct CallOptions: Sendable {
    /// The whole call's time limit, told to the server as well (docs/protocol.md §4.2).
    public var timeout: Duration?
    public var metadata: [RpcV1.MetadataEntry]
    /// An IMS access token; never logged.
    public var authorization: String
    /// Safe to repeat (a read): retried with backoff on UNAVAILABLE, up to `maxAttempts`.
    /// Other calls are retried only when the server is known not to have processed them.
    public var idempotent: Bool
    public var maxAttempts: Int

    public init(
        timeout: Duration? = nil, metadata: [RpcV1.MetadataEntry] = [], authorization: String = "",
        idempotent: Bool = false, maxAttempts: Int = 3
    ) {
        self.timeout = timeout
        self.metadata = metadata
        self.authorization = authorization
        self.idempotent = idempotent
        self.maxAttempts = maxAttempts
    }

    func header(method: String) -> RpcV1.CallHeader {
        RpcV1.CallHeader.with {
            $0.method = method
            $0.metadata = metadata
            $0.authorization = authorization
            if let timeout {
                let milliseconds = timeout.components.seconds * 1_000 + timeout.components.attoseconds / 1_000_000_000_000_000
                $0.timeoutMs = UInt64(max(1, milliseconds))
            }
        }
    }
}
