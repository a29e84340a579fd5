import Synchronization

/// Holds the server's current context; `reload()` re-reads certificate and key from the configured
/// paths so rotated certificates take effect for new connections without a restart. Existing
/// connections keep the context they started with (each SSL holds a reference to its SSL_CTX).
public final class TLSContextProvider: Sendable {
    private let state: Mutex<TLSContext>

    public init(configuration: TLSConfiguration, role: TLSRole = .server) throws(TLSError) {
        state = Mutex(try TLSContext(configuration: configuration, role: role))
    }

    public var current: TLSContext { state.withLock { $0 } }

    /// On failure the previous context stays in use, so a half-written certificate file cannot take the server down.
    @discardableResult
    public func reload(configuration: TLSConfiguration? = nil) throws(TLSError) -> TLSContext {
        let old = current
        let fresh = try TLSContext(configuration: configuration ?? old.configuration, role: old.role)
        state.withLock { $0 = fresh }
        return fresh
    }
}
