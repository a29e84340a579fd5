/// Exponential backoff with jitter between reconnection attempts and retries, so that a fleet of
/// clients that lost the server at once does not come back at once.
public struct Backoff: Sendable, Hashable {
    public var initial: Duration
    public var maximum: Duration
    public var multiplier: Double
    /// Each delay is scaled by a random factor in 1 ± jitter.
    public var jitter: Double

    public init(initial: Duration = .milliseconds(100), maximum: Duration = .seconds(10), multiplier: Double = 1.6, jitter: Double = 0.2) {
        self.initial = initial
        self.maximum = maximum
        self.multiplier = multiplier
        self.jitter = jitter
    }

    public static let `default` = Backoff()

    /// The delay before attempt `attempt` (1 = the first retry).
    public func delay(attempt: Int) -> Duration {
        let base = min(Self.seconds(maximum), Self.seconds(initial) * pow(multiplier, Double(max(0, attempt - 1))))
        let factor = 1 + Double.random(in: -jitter...jitter)
        return .nanoseconds(Int64(base * factor * 1e9))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        for _ in 0..<Int(exponent) { result *= base }
        return result
    }
}
