import Logging
import Metrics
import Prometheus

/// Installs `LogfmtLogHandler` on standard error as the swift-log backend, at `level`.
/// Once per process, before the first `Logger` is made (loggers keep the handler they were made with).
public func bootstrapLogging(level: Logger.Level) {
    LoggingSystem.bootstrap { label in LogfmtLogHandler(label: label, level: level) }
}

/// Installs Prometheus as the swift-metrics backend, collecting into `registry` (serve that registry
/// with `MetricsEndpoint`). Once per process, before the first metric handle is made; tests use
/// `makeMetricsFactory(registry:)` instead, since bootstrapping twice traps.
@discardableResult
public func bootstrapMetrics(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) -> PrometheusCollectorRegistry {
    MetricsSystem.bootstrap(makeMetricsFactory(registry: registry))
    return registry
}

/// The Prometheus factory with Wattline's histogram buckets: swift-metrics `Timer`s become
/// histograms over `latencyBuckets`.
public func makeMetricsFactory(registry: PrometheusCollectorRegistry) -> PrometheusMetricsFactory {
    var factory = PrometheusMetricsFactory(registry: registry)
    factory.defaultDurationHistogramBuckets = latencyBuckets
    return factory
}

/// 50 µs to 10 s in 1-2.5-5 steps: an in-memory unary call is tens of microseconds, a database call
/// milliseconds, and deadlines are seconds; the library's default starts at 5 ms and would put every
/// fast call in the first bucket.
public let latencyBuckets: [Duration] = [
    .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
    .milliseconds(1), .microseconds(2_500), .milliseconds(5), .milliseconds(10), .milliseconds(25),
    .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
    .seconds(1), .milliseconds(2_500), .seconds(5), .seconds(10),
]
