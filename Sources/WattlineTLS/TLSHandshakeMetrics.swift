import Logging
import Metrics
import NIOCore

/// What `TLSHandler` reports about each server or client handshake: `wattline_tls_handshakes_total{result}`
/// (`result="resumed"` for a successful abbreviated handshake, a session ticket accepted) and
/// `wattline_tls_handshake_duration_seconds`, and a debug log line for each failure.
///
/// It keeps the factory, not handles: one lookup per handshake is nothing next to the handshake, and a
/// handler made before `MetricsSystem.bootstrap` still reports to the backend bootstrapped later.
public struct TLSHandshakeMetrics: Sendable {
    public enum Result: String, Sendable {
        case ok, resumed, failed, timeout
    }

    public static let handshakesName = "wattline_tls_handshakes_total"
    public static let durationName = "wattline_tls_handshake_duration_seconds"

    private let factory: (any MetricsFactory)?

    /// - Parameter factory: nil (the default) means `MetricsSystem.factory` at the time of each handshake.
    public init(factory: (any MetricsFactory)? = nil) {
        self.factory = factory
    }

    func record(_ result: Result, resumed: Bool, duration: TimeAmount, error: (any Error)?, peer: SocketAddress?) {
        let factory = self.factory ?? MetricsSystem.factory
        let result = result == .ok && resumed ? .resumed : result
        Counter(label: Self.handshakesName, dimensions: [("result", result.rawValue)], factory: factory).increment()
        Timer(label: Self.durationName, factory: factory).recordNanoseconds(duration.nanoseconds)
        guard result == .failed || result == .timeout else { return }
        // The error carries OpenSSL's reason strings and our own; never key material or application bytes.
        Logger(label: "wattline.tls").debug(
            "TLS handshake \(result.rawValue)",
            metadata: [
                "peer": "\(peer.flatMap { address in address.ipAddress.map { "\($0):\(address.port ?? 0)" } } ?? "unknown")",
                "error": "\(error.map { "\($0)" } ?? "none")",
                "duration_ms": "\(duration.nanoseconds / 1_000_000)",
            ])
    }
}
