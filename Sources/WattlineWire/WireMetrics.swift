import Metrics
import Synchronization
import WattlineProtos

/// The metrics the wire runtime emits, through the swift-metrics API (the executable bootstraps the
/// backend; see docs/operations.md). Cheap per call and per frame: the handles for each label set
/// are made once and cached, so the hot path is one lock and one dictionary lookup at most.
///
/// Handles are bound to the factory given at `init`; an instance made before `MetricsSystem.bootstrap`
/// stays on the no-op backend for good, so make the long-lived one (or touch `shared`) after it.
public struct WireMetrics: Sendable {
    /// The process-wide instance, made from `MetricsSystem.factory` on first use.
    public static let shared = WireMetrics()

    /// The `method` label for calls to paths the router does not know: client-chosen strings must
    /// not become label values, or any client could create unbounded series.
    public static let unknownMethod = "unknown"
    /// The `method` label once `maxMethods` distinct methods have been seen (a second guard against cardinality).
    public static let otherMethod = "other"

    private let handles: Handles

    /// - Parameter maxMethods: distinct `method` label values kept before further ones fold into `otherMethod`.
    public init(factory: any MetricsFactory = MetricsSystem.factory, maxMethods: Int = 512) {
        handles = Handles(factory: factory, maxMethods: maxMethods)
    }

    // MARK: Connections

    /// A connection was accepted: `wattline_connections_open` +1, `wattline_connections_total` +1.
    public func connectionOpened() {
        handles.connectionsOpen.increment()
        handles.connectionsTotal.increment()
    }

    /// A connection counted by `connectionOpened()` has closed: `wattline_connections_open` -1.
    public func connectionClosed() {
        handles.connectionsOpen.decrement()
    }

    /// A connection was turned away before serving (`wattline_connections_refused_total{reason}`).
    /// `reason` must come from a fixed set chosen in code, e.g. "connection_limit".
    public func connectionRefused(reason: String) {
        handles.refused(reason).increment()
    }

    /// `wattline_goaways_sent_total{reason}`, reason as the snake-case `GoAwayReason` name.
    public func goAwaySent(reason: RpcV1.GoAwayReason) {
        handles.goAway(Self.reasonName(reason)).increment()
    }

    // MARK: Calls

    /// `wattline_calls_started_total{method}`. Pass the routed path, or `unknownMethod`.
    public func callStarted(method: String) {
        handles.started(method).increment()
    }

    /// `wattline_calls_total{method,code}` +1 and `wattline_call_duration_seconds{method}` observes `duration`.
    /// `code` is the gRPC status code sent (0 for OK); it is exported by name (`statusName`).
    public func callFinished(method: String, code: UInt32, duration: Duration) {
        let (finished, timer) = handles.finished(method, code: code)
        finished.increment()
        timer.record(duration: duration)
    }

    // MARK: Frames

    /// Plaintext frame bytes read (header and payload): `wattline_bytes_received_total`.
    public func bytesReceived(_ count: Int) {
        handles.bytesReceived.increment(by: count)
    }

    /// Plaintext frame bytes written (header and payload): `wattline_bytes_sent_total`.
    public func bytesSent(_ count: Int) {
        handles.bytesSent.increment(by: count)
    }

    /// A write had to wait for the peer to open its flow-control window: `wattline_flow_control_stalls_total`.
    public func flowControlStalled() {
        handles.flowControlStalls.increment()
    }

    // MARK: Label values

    /// The gRPC canonical name of a status code ("OK", "DEADLINE_EXCEEDED", ...); codes outside
    /// 0...16 are "UNKNOWN", as gRPC maps them, which also keeps the label set bounded.
    public static func statusName(_ code: UInt32) -> String {
        code < UInt32(statusNames.count) ? statusNames[Int(code)] : "UNKNOWN"
    }

    static let statusNames = [
        "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
        "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
        "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]

    /// The `reason` label of a GOAWAY: the case name in snake case ("no_error", "enhance_your_calm");
    /// values this build does not know are "unrecognized". Derived from the case name so that a reason
    /// added to the contract needs no change here.
    public static func reasonName(_ reason: RpcV1.GoAwayReason) -> String {
        if case .unrecognized = reason { return "unrecognized" }
        var name = ""
        for character in String(describing: reason) {
            if character.isUppercase { name += "_" + character.lowercased() } else { name.append(character) }
        }
        return name
    }
}

extension WireMetrics {
    /// The metric names, for dashboards, docs and tests.
    public enum Name {
        public static let connectionsOpen = "wattline_connections_open"
        public static let connectionsTotal = "wattline_connections_total"
        public static let connectionsRefused = "wattline_connections_refused_total"
        public static let callsStarted = "wattline_calls_started_total"
        public static let calls = "wattline_calls_total"
        public static let callDuration = "wattline_call_duration_seconds"
        public static let bytesReceived = "wattline_bytes_received_total"
        public static let bytesSent = "wattline_bytes_sent_total"
        public static let flowControlStalls = "wattline_flow_control_stalls_total"
        public static let goAwaysSent = "wattline_goaways_sent_total"
    }

    /// The metric handles: the unlabeled ones made up front, the labeled ones on first use.
    private final class Handles: Sendable {
        struct PerMethod {
            let started: Counter
            let duration: Timer
            /// `wattline_calls_total` by status code, made on first use.
            var finished: [UInt32: Counter] = [:]
        }

        struct Labeled {
            var methods: [String: PerMethod] = [:]
            var refused: [String: Counter] = [:]
            var goAways: [String: Counter] = [:]
        }

        let factory: any MetricsFactory
        let maxMethods: Int
        let connectionsOpen: Meter
        let connectionsTotal: Counter
        let bytesReceived: Counter
        let bytesSent: Counter
        let flowControlStalls: Counter
        private let labeled = Mutex(Labeled())

        init(factory: any MetricsFactory, maxMethods: Int) {
            self.factory = factory
            self.maxMethods = maxMethods
            connectionsOpen = Meter(label: Name.connectionsOpen, factory: factory)
            connectionsTotal = Counter(label: Name.connectionsTotal, factory: factory)
            bytesReceived = Counter(label: Name.bytesReceived, factory: factory)
            bytesSent = Counter(label: Name.bytesSent, factory: factory)
            flowControlStalls = Counter(label: Name.flowControlStalls, factory: factory)
        }

        func started(_ method: String) -> Counter {
            labeled.withLock { perMethod(method, in: &$0).handles.started }
        }

        func finished(_ method: String, code: UInt32) -> (Counter, Timer) {
            labeled.withLock { state in
                var (label, handles) = perMethod(method, in: &state)
                let code = code < UInt32(WireMetrics.statusNames.count) ? code : 2  // out of range: UNKNOWN
                if let counter = handles.finished[code] { return (counter, handles.duration) }
                let counter = Counter(
                    label: Name.calls, dimensions: [("method", label), ("code", WireMetrics.statusName(code))],
                    factory: factory)
                handles.finished[code] = counter
                state.methods[label] = handles
                return (counter, handles.duration)
            }
        }

        func refused(_ reason: String) -> Counter {
            labeled.withLock { state in
                if let counter = state.refused[reason] { return counter }
                let counter = Counter(label: Name.connectionsRefused, dimensions: [("reason", reason)], factory: factory)
                state.refused[reason] = counter
                return counter
            }
        }

        func goAway(_ reason: String) -> Counter {
            labeled.withLock { state in
                if let counter = state.goAways[reason] { return counter }
                let counter = Counter(label: Name.goAwaysSent, dimensions: [("reason", reason)], factory: factory)
                state.goAways[reason] = counter
                return counter
            }
        }

        /// The handles for `method`, under its own label, or under `otherMethod` once `maxMethods`
        /// other methods have theirs.
        private func perMethod(_ method: String, in state: inout Labeled) -> (label: String, handles: PerMethod) {
            if let handles = state.methods[method] { return (method, handles) }
            let label = state.methods.count < maxMethods ? method : WireMetrics.otherMethod
            if let handles = state.methods[label] { return (label, handles) }
            let handles = PerMethod(
                started: Counter(label: Name.callsStarted, dimensions: [("method", label)], factory: factory),
                duration: Timer(label: Name.callDuration, dimensions: [("method", label)], factory: factory))
            state.methods[label] = handles
            return (label, handles)
        }
    }
}
