import Foundation
import Synchronization
import WattlineClient
import WattlineProtos

/// Batches sent and not yet acknowledged, oldest first (resent after a reconnect), and the
/// logger's virtual clock, which outlives its streams.
final class Outbox: Sendable {
    private let batches = Mutex<[(batch: TelemetryV1.TelemetryBatch, sentAt: ContinuousClock.Instant)]>([])
    private let clock = Mutex(Int64(Date().timeIntervalSince1970 * 1_000) - 7 * 86_400_000)

    /// The start of the next `polls` polls (one second apart), advancing the clock past them.
    func advance(polls: Int) -> Int64 {
        clock.withLock { clock in
            defer { clock += Int64(polls) * 1_000 }
            return clock
        }
    }

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

/// One logger: its own TLS connection and ingest stream, batches of its channels' readings on a
/// virtual clock that starts a week ago (backfill) and advances one second per poll, at most
/// `inFlight` unacknowledged batches, and after a failure a reconnect that resends what was not
/// acknowledged.
struct SimulatedLogger: Sendable {
    let logger: Fleet.Logger
    let client: WattlineClient
    let batchSamples: Int
    let interval: Duration?
    let inFlight: Int
    let stats: Stats

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
            stats.streamOpened()
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
                        } else {
                            batch = makeBatch(sequence: next, outbox: outbox)
                            next += 1
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

    /// `batchSamples` readings spread over the logger's channels: polls (one sample per channel,
    /// one second apart on the virtual clock), series by channel.
    private func makeBatch(sequence: UInt64, outbox: Outbox) -> TelemetryV1.TelemetryBatch {
        let channels = logger.channels
        let polls = max(1, batchSamples / max(1, channels.count))
        let start = outbox.advance(polls: polls)
        var values: [Double] = []
        values.reserveCapacity(polls * channels.count)
        var deltas: [Int32] = []
        deltas.reserveCapacity(polls * channels.count)
        for index in channels.indices {
            for poll in 0..<polls {
                let t = Double(start / 1_000 + Int64(poll))
                let value: Double = switch index % 7 {
                case 0: (t / 36.0).rounded() / 100  // energy counter, kWh
                case 1: ((20 + 5 * sin(t / 3_600)) * 100).rounded() / 100
                case 2: ((230 + sin(t / 60)) * 10).rounded() / 10
                case 3: ((30 + 3 * sin(t / 600)) * 100).rounded() / 100
                case 4: 0.95
                case 5: ((50 + 0.02 * sin(t / 30)) * 100).rounded() / 100
                default: ((21 + sin(t / 7_200)) * 10).rounded() / 10
                }
                values.append(value)
                deltas.append(poll == 0 ? 0 : 1_000)
            }
        }
        return .with {
            $0.sequence = sequence
            $0.channelIDs = channels
            $0.seriesStartMs = channels.map { _ in start }
            $0.sampleCounts = channels.map { _ in UInt32(polls) }
            $0.timeDeltasMs = deltas
            $0.values = values
        }
    }
}

extension Duration {
    var microseconds: Int64 { components.seconds * 1_000_000 + components.attoseconds / 1_000_000_000_000 }
}
