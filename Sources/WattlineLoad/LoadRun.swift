import Foundation
import Synchronization
import WattlineClient

/// One load run: every logger streams until the duration ends (or its source is exhausted);
/// progress every 5 s; the report.
struct LoadRun: Sendable {
    let loggers: [Fleet.Logger]
    /// Each logger's batches (same order as `loggers`).
    let sources: [any BatchSource]
    let makeClient: @Sendable () throws -> WattlineClient
    let duration: Duration
    /// For the report: samples per batch.
    let batchSamples: Int
    let interval: Duration?
    let inFlight: Int
    let sampler: ProcessSampler
    /// Where to write "<logger> <sequence>" of every acknowledged batch (nil: nowhere).
    let ackedLog: String?
    /// When to drop every logger's connection at once (a network outage, a load balancer
    /// restart): the loggers reconnect, resuming their TLS sessions, and resend.
    let dropAt: Duration?
    /// Acks before then are left out of the steady-state latency figures.
    let warmup: Duration

    func run() async throws -> String {
        let clients = try loggers.map { _ in try makeClient() }
        let started = ContinuousClock.now
        let stats = Stats(keepsAcknowledged: ackedLog != nil, steadyFrom: started + warmup)
        let deadline = started + duration
        let before = sampler.sample()
        let streaming = Countdown(loggers.count)
        @Sendable func running() -> Bool { ContinuousClock.now < deadline && streaming.remaining > 0 }
        await withTaskGroup(of: Void.self) { group in
            for ((logger, source), client) in zip(zip(loggers, sources), clients) {
                group.addTask {
                    await SimulatedLogger(
                        logger: logger, client: client, source: source, interval: interval, inFlight: inFlight, stats: stats,
                        fleetSize: loggers.count
                    ).run(until: deadline)
                    streaming.done()
                }
            }
            if let dropAt {
                group.addTask {
                    try? await Task.sleep(until: started + dropAt)
                    guard running() else { return }
                    print("dropping all \(clients.count) connections at once")
                    stats.dropped()
                    await withTaskGroup(of: Void.self) { drops in
                        for client in clients { drops.addTask { await client.disconnect() } }
                    }
                }
            }
            group.addTask {  // progress and the server's memory
                var last = stats.snapshot.samplesAcked
                while running() {
                    try? await Task.sleep(for: .seconds(5))
                    let now = stats.snapshot
                    let elapsed = ContinuousClock.now - started
                    print(String(format: "%5.0f s  %10.0f samples/s  streams %d  stored %d  rejected %d  reconnects %d  p99 %.1f ms",
                                 Double(elapsed.components.seconds), Double(now.samplesAcked - last) / 5, now.streamsOpen,
                                 now.batchesStored, now.batchesRejected, now.reconnects,
                                 Double(now.latency.valueAtPercentile(99)) / 1_000))
                    last = now.samplesAcked
                }
            }
            group.addTask {
                while running() {
                    stats.sawServerRSS(sampler.sample().serverRSSKiB)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        let after = sampler.sample()
        stats.sawServerRSS(after.serverRSSKiB)
        let peak = stats.snapshot.serverPeakRSSKiB
        for client in clients { await client.close() }
        // Rates and CPU shares over the run (the configured duration, or less if every source ran out).
        let totals = stats.snapshot
        let ran = min(duration, ContinuousClock.now - started)
        let seconds = max(0.001, Double(ran.components.seconds) + Double(ran.components.attoseconds) / 1e18)
        func cpu(_ ticks: Int64) -> Double { Double(ticks) / ProcessSampler.ticksPerSecond / seconds * 100 }
        let latency = totals.latency
        func ms(_ percentile: Double) -> Double { Double(latency.valueAtPercentile(percentile)) / 1_000 }
        func steadyMs(_ percentile: Double) -> Double { Double(totals.steadyLatency.valueAtPercentile(percentile)) / 1_000 }
        var summary: [String: Any] = [
            "loggers": loggers.count, "duration_s": seconds, "batch_samples": batchSamples,
            "samples_acked": totals.samplesAcked, "samples_per_s": (Double(totals.samplesAcked) / seconds).rounded(),
            "batches_stored": totals.batchesStored, "batches_duplicate": totals.batchesDuplicate,
            "batches_rejected": totals.batchesRejected, "reconnects": totals.reconnects,
            "ack_p50_ms": ms(50), "ack_p99_ms": ms(99), "ack_p999_ms": ms(99.9),
            "cpu_server_pct": cpu(after.serverTicks - before.serverTicks).rounded(),
            "cpu_postgres_pct": cpu(after.postgresTicks - before.postgresTicks).rounded(),
            "cpu_load_tester_pct": cpu(after.selfTicks - before.selfTicks).rounded(),
            "server_peak_rss_mib": Double(peak) / 1_024,
        ]
        if warmup > .zero {
            summary["warmup_s"] = Double(warmup.components.seconds)
            summary["steady_ack_p50_ms"] = steadyMs(50)
            summary["steady_ack_p99_ms"] = steadyMs(99)
            summary["steady_ack_p999_ms"] = steadyMs(99.9)
        }
        if totals.droppedAt != nil {
            summary["storm_loggers_back"] = totals.backSinceDrop.count
            summary["storm_all_back_s"] = totals.allBackAfter.map { Double($0.microseconds) / 1e6 } ?? -1
        }
        var lines = [
            "== wattline-load: \(loggers.count) loggers, \(batchSamples)-sample batches, "
                + (interval.map { "one every \($0)" } ?? "as fast as acknowledged") + String(format: ", %.1f s", seconds),
            String(format: "acknowledged: %d samples (%.0f samples/s), %d batches stored, %d duplicates, %d rejected, %d reconnects",
                   totals.samplesAcked, Double(totals.samplesAcked) / seconds, totals.batchesStored, totals.batchesDuplicate,
                   totals.batchesRejected, totals.reconnects),
            String(format: "ack latency: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms", ms(50), ms(99), ms(99.9))
                + (warmup > .zero ? String(format: "; after the %d s warm-up: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms",
                                           Int(warmup.components.seconds), steadyMs(50), steadyMs(99), steadyMs(99.9)) : ""),
            String(format: "CPU (%% of one core): server %.0f, PostgreSQL %.0f, load tester %.0f; server peak RSS %.0f MiB",
                   cpu(after.serverTicks - before.serverTicks), cpu(after.postgresTicks - before.postgresTicks),
                   cpu(after.selfTicks - before.selfTicks), Double(peak) / 1_024),
        ]
        if totals.droppedAt != nil {
            lines.append("after dropping every connection at once: \(totals.backSinceDrop.count) of \(loggers.count) loggers streaming again"
                + (totals.allBackAfter.map { String(format: ", all within %.2f s", Double($0.microseconds) / 1e6) } ?? ", not all"))
        }
        if let rejection = totals.firstRejection { lines.append("first rejection: \(rejection)") }
        if let ackedLog {
            let text = totals.acknowledged.joined(separator: "\n") + "\n"
            guard FileManager.default.createFile(atPath: ackedLog, contents: Data(text.utf8)) else {
                throw LoadError("cannot write \(ackedLog)")
            }
        }
        lines.append(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
        return lines.joined(separator: "\n")
    }
}

/// Loggers still streaming.
final class Countdown: Sendable {
    private let count: Mutex<Int>
    init(_ count: Int) { self.count = Mutex(count) }
    var remaining: Int { count.withLock { $0 } }
    func done() { count.withLock { $0 -= 1 } }
}
