import Histogram
import Synchronization

/// What every simulated logger reports, merged: counters and the ack-latency histogram (µs).
final class Stats: Sendable {
    struct Totals {
        var samplesAcked = 0
        var batchesStored = 0
        var batchesDuplicate = 0
        var batchesRejected = 0
        var reconnects = 0
        var streamsOpen = 0
        var latency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        /// The same, for acks after the warm-up (the fleet's connecting and first batches).
        var steadyLatency = Histogram<UInt64>(highestTrackableValue: 600_000_000, numberOfSignificantValueDigits: .three)
        var firstRejection: String?
        var serverPeakRSSKiB: Int64 = 0
        /// "<logger> <sequence>" of every batch acknowledged as stored or duplicate, when kept.
        var acknowledged: [String] = []
        /// After every connection was dropped at once: when, which loggers streamed again since,
        /// and when the last of them did.
        var droppedAt: ContinuousClock.Instant?
        var backSinceDrop: Set<String> = []
        var allBackAfter: Duration?
    }

    private let totals = Mutex(Totals())
    /// Keep the acknowledged batches (`--acked-log`: a crash test compares them with the database).
    let keepsAcknowledged: Bool

    /// When the warm-up ends (`steadyLatency` records from then on).
    let steadyFrom: ContinuousClock.Instant

    init(keepsAcknowledged: Bool = false, steadyFrom: ContinuousClock.Instant = .now) {
        self.keepsAcknowledged = keepsAcknowledged
        self.steadyFrom = steadyFrom
    }

    func acknowledged(logger: String, sequence: UInt64) {
        guard keepsAcknowledged else { return }
        totals.withLock { $0.acknowledged.append("\(logger) \(sequence)") }
    }

    func acked(samples: Int, outcome: Outcome, latencyMicroseconds: UInt64) {
        totals.withLock { totals in
            switch outcome {
            case .stored: totals.batchesStored += 1; totals.samplesAcked += samples
            case .duplicate: totals.batchesDuplicate += 1; totals.samplesAcked += samples
            case .rejected(let reason):
                totals.batchesRejected += 1
                if totals.firstRejection == nil { totals.firstRejection = reason }
            }
            _ = totals.latency.record(latencyMicroseconds)
            if ContinuousClock.now >= steadyFrom { _ = totals.steadyLatency.record(latencyMicroseconds) }
        }
    }

    func sawServerRSS(_ kib: Int64) { totals.withLock { $0.serverPeakRSSKiB = max($0.serverPeakRSSKiB, kib) } }
    func reconnected() { totals.withLock { $0.reconnects += 1 } }
    func streamOpened(logger: String, of fleetSize: Int) {
        totals.withLock { totals in
            totals.streamsOpen += 1
            guard let dropped = totals.droppedAt, totals.allBackAfter == nil else { return }
            totals.backSinceDrop.insert(logger)
            if totals.backSinceDrop.count == fleetSize { totals.allBackAfter = .now - dropped }
        }
    }

    func dropped() { totals.withLock { $0.droppedAt = .now } }
    func streamClosed() { totals.withLock { $0.streamsOpen -= 1 } }

    var snapshot: Totals { totals.withLock { $0 } }

    enum Outcome { case stored, duplicate, rejected(String) }
}
