import Foundation
import Synchronization
import WattlineClient
import WattlineProtos

/// Batches sent and not yet acknowledged, oldest first (resent after a reconnect).
final class Outbox: Sendable {
    private let batches = Mutex<[(batch: TelemetryV1.TelemetryBatch, sentAt: ContinuousClock.Instant)]>([])

    func sent(_ batch: TelemetryV1.TelemetryBatch) { batches.withLock { $0.append((batch, .now)) } }

    /// The oldest unacknowledged batch, removed (acks come in batch order).
    func acknowledged() -> (batch: TelemetryV1.TelemetryBatch, sentAt: ContinuousClock.Instant)? {
        batches.withLock { $0.isEmpty ? nil : $0.removeFirst() }
    }

    /// What to resend on a new stream: everything the server has not stored.
    func takeForResend(after lastStored: UInt64) -> [TelemetryV1.TelemetryBatch] {
        batches.withLock { batches in
            defer { batches = [] }
            return batches.map(\.batch).filter { $0.sequence > lastStored }
        }
    }
}

/// One logger: its own TLS connection and ingest stream, the batches of its `source`, at most
/// `inFlight` unacknowledged batches, and after a failure a reconnect that resends what was not
/// acknowledged. It stops at the deadline or once its source is exhausted and acknowledged.
struct SimulatedLogger: Sendable {
    let logger: Fleet.Logger
    let client: WattlineClient
    let source: any BatchSource
    let interval: Duration?
    let inFlight: Int
    let stats: Stats
    /// Loggers in the run (for telling when all stream again after a drop).
    let fleetSize: Int

    func run(until deadline: ContinuousClock.Instant) async {
        let outbox = Outbox()
        var attempt = 0
        while ContinuousClock.now < deadline {
            if attempt > 0 { stats.reconnected() }
            attempt += 1
            do {
                try await stream(until: deadline, outbox: outbox)
                return
            } catch {
                // Jittered exponential backoff, as logger firmware does: a fleet reconnecting at
                // once must not hammer a server that is just coming back.
                let ceiling = min(5_000, 100 << min(attempt, 6))
                try? await Task.sleep(for: .milliseconds(Int.random(in: ceiling / 2...ceiling)))
            }
        }
    }

    private func stream(until deadline: ContinuousClock.Instant, outbox: Outbox) async throws {
        let options = CallOptions(authorization: logger.secret)
        try await client.bidirectional(TelemetryV1.IngestService.Ingest.self, options: options) { requests, responses in
            try await requests.write(.with { $0.kind = .hello(.with { $0.firmwareVersion = "wattline-load"; $0.maxInFlight = UInt32(inFlight) }) })
            var iterator = responses.makeAsyncIterator()
            guard case .welcome(let welcome)? = try await iterator.next()?.kind else { throw LoadError("no welcome") }
            stats.streamOpened(logger: logger.loggerID, of: fleetSize)
            defer { stats.streamClosed() }
            let window = max(1, min(inFlight, Int(welcome.maxInFlight)))
            let (credits, creditor) = AsyncStream<Void>.makeStream()
            for _ in 0..<window { creditor.yield() }
            let resend = outbox.takeForResend(after: welcome.lastStoredSequence)
            let firstNew = max(welcome.lastStoredSequence, resend.last?.sequence ?? 0) + 1
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {  // the batches: resends first, then new ones, within the window
                    var creditsLeft = credits.makeAsyncIterator()
                    var queue = resend[...]
                    var next = firstNew
                    while ContinuousClock.now < deadline {
                        _ = await creditsLeft.next()
                        let batch: TelemetryV1.TelemetryBatch
                        if let resent = queue.popFirst() {
                            batch = resent
                        } else if let made = source.next(sequence: next) {
                            batch = made
                            next += 1
                        } else {
                            break  // nothing more to send: the acks of what was sent end the stream
                        }
                        outbox.sent(batch)
                        try await requests.write(.with { $0.kind = .batch(batch) })
                        if let interval { try await Task.sleep(for: interval) }
                    }
                    requests.finish()
                }
                while let response = try await iterator.next() {  // the acks, in batch order
                    guard case .ack(let ack)? = response.kind else { continue }
                    let entry = outbox.acknowledged()
                    let micros = entry.map { UInt64(max(0, (ContinuousClock.now - $0.sentAt).microseconds)) } ?? 0
                    let samples = entry?.batch.values.count ?? 0
                    if ack.outcome == .stored || ack.outcome == .duplicate {
                        stats.acknowledged(logger: logger.loggerID, sequence: ack.sequence)
                    }
                    switch ack.outcome {
                    case .stored: stats.acked(samples: samples, outcome: .stored, latencyMicroseconds: micros)
                    case .duplicate: stats.acked(samples: samples, outcome: .duplicate, latencyMicroseconds: micros)
                    default: stats.acked(samples: 0, outcome: .rejected("\(ack.code): \(ack.message)"), latencyMicroseconds: micros)
                    }
                    creditor.yield()
                }
                try await group.waitForAll()
            }
        }
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
