import Metrics
import Prometheus
import Testing
import WattlineObservability
import WattlineProtos
import WattlineWire

/// WireMetrics through the Prometheus backend: the names, labels and values an operator scrapes.
@Suite struct WireMetricsTests {
    func exposition(_ registry: PrometheusCollectorRegistry) -> Set<String> {
        Set(registry.emitToString().split(separator: "\n").map(String.init))
    }

    @Test func emitsTheDocumentedSeries() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WireMetrics(factory: makeMetricsFactory(registry: registry))
        let check = "/wattline.health.v1.HealthService/Check"
        metrics.connectionOpened()
        metrics.connectionOpened()
        metrics.connectionClosed()
        metrics.connectionRefused(reason: "connection_limit")
        metrics.callStarted(method: check)
        metrics.callStarted(method: check)
        metrics.callFinished(method: check, code: 0, duration: .microseconds(80))
        metrics.callFinished(method: check, code: 4, duration: .seconds(2))
        metrics.bytesReceived(120)
        metrics.bytesSent(64)
        metrics.bytesSent(16)
        metrics.flowControlStalled()
        metrics.goAwaySent(reason: .noError)

        let lines = exposition(registry)
        for expected in [
            "wattline_connections_open 1.0",
            "wattline_connections_total 2",
            #"wattline_connections_refused_total{reason="connection_limit"} 1"#,
            #"wattline_calls_started_total{method="\#(check)"} 2"#,
            #"wattline_calls_total{method="\#(check)",code="OK"} 1"#,
            #"wattline_calls_total{method="\#(check)",code="DEADLINE_EXCEEDED"} 1"#,
            "# TYPE wattline_call_duration_seconds histogram",
            #"wattline_call_duration_seconds_bucket{method="\#(check)",le="0.0001"} 1"#,
            #"wattline_call_duration_seconds_bucket{method="\#(check)",le="2.5"} 2"#,
            #"wattline_call_duration_seconds_count{method="\#(check)"} 2"#,
            "wattline_bytes_received_total 120",
            "wattline_bytes_sent_total 80",
            "wattline_flow_control_stalls_total 1",
            #"wattline_goaways_sent_total{reason="no_error"} 1"#,
        ] {
            #expect(lines.contains(expected), "missing \(expected)")
        }
    }

    @Test func methodLabelsAreBounded() {
        let registry = PrometheusCollectorRegistry()
        let metrics = WireMetrics(factory: makeMetricsFactory(registry: registry), maxMethods: 2)
        for method in ["/a", "/b", "/c", "/d", "/a"] {
            metrics.callStarted(method: method)
            metrics.callFinished(method: method, code: 99, duration: .milliseconds(1))
        }
        let lines = exposition(registry)
        #expect(lines.contains(#"wattline_calls_started_total{method="/a"} 2"#))
        #expect(lines.contains(#"wattline_calls_started_total{method="/b"} 1"#))
        #expect(lines.contains(#"wattline_calls_started_total{method="other"} 2"#))
        #expect(lines.contains(#"wattline_calls_total{method="other",code="UNKNOWN"} 2"#))
        #expect(!lines.contains { $0.contains("\"/c\"") || $0.contains("\"/d\"") })
    }

    @Test func statusNames() {
        let names = (0...16).map { WireMetrics.statusName(UInt32($0)) }
        #expect(names == [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ])
        #expect(WireMetrics.statusName(17) == "UNKNOWN")
        #expect(WireMetrics.statusName(.max) == "UNKNOWN")
        #expect(WireMetrics.reasonName(.unrecognized(42)) == "unrecognized")
        #expect(WireMetrics.reasonName(.noError) == "no_error")
        #expect(WireMetrics.reasonName(.enhanceYourCalm) == "enhance_your_calm")
        #expect(WireMetrics.reasonName(.keepaliveTimeout) == "keepalive_timeout")
        for reason in RpcV1.GoAwayReason.allCases {
            #expect(WireMetrics.reasonName(reason).wholeMatch(of: /[a-z]+(_[a-z]+)*/) != nil, "\(reason)")
        }
    }
}
