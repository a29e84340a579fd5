import Foundation
import WattlineClient

/// One load run: every logger streams until the duration ends; progress every 5 s; the report.
struct LoadRun: Sendable {
    let loggers: [Fleet.Logger]
    let makeClient: @Sendable () throws -> WattlineClient
    let duration: Duration
    let batchSamples: Int
    let interval: Duration?
    let inFlight: Int
    let sampler: ProcessSampler
    /// Where to write "<logger> <sequence>" of every acknowledged batch (nil: nowhere).
    let ackedLog: String?

    func run() async throws -> String {
        let stats = Stats(keepsAcknowledged: ackedLog != nil)
        let clients = try loggers.map { _ in try makeClient() }
        let started = ContinuousClock.now
        let deadline = started + duration
        let before = sampler.sample()
        await withTaskGroup(of: Void.self) { group in
            for (logger, client) in zip(loggers, clients) {
                group.addTask {
                    await SimulatedLogger(
                        logger: logger, client: client, batchSamples: batchSamples, interval: interval, inFlight: inFlight,
                        stats: stats
                    ).run(until: deadline)
                }
            }
            group.addTask {  // progress and the server's memory
                var last = stats.snapshot.samplesAcked
                while ContinuousClock.now < deadline {
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
                while ContinuousClock.now < deadline {
                    stats.sawServerRSS(sampler.sample().serverRSSKiB)
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        }
        let after = sampler.sample()
        stats.sawServerRSS(after.serverRSSKiB)
        let peak = stats.snapshot.serverPeakRSSKiB
        for client in clients { await client.close() }
        // Rates and CPU shares over the configured duration (the streams stop at its end).
        let totals = stats.snapshot
        let seconds = max(1, Double(duration.components.seconds))
        func cpu(_ ticks: Int64) -> Double { Double(ticks) / ProcessSampler.ticksPerSecond / seconds * 100 }
        let latency = totals.latency
        func ms(_ percentile: Double) -> Double { Double(latency.valueAtPercentile(percentile)) / 1_000 }
        let summary: [String: Any] = [
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
        var lines = [
            "== wattline-load: \(loggers.count) loggers, \(batchSamples)-sample batches, "
                + (interval.map { "one every \($0)" } ?? "as fast as acknowledged") + ", \(Int(seconds)) s",
            String(format: "acknowledged: %d samples (%.0f samples/s), %d batches stored, %d duplicates, %d rejected, %d reconnects",
                   totals.samplesAcked, Double(totals.samplesAcked) / seconds, totals.batchesStored, totals.batchesDuplicate,
                   totals.batchesRejected, totals.reconnects),
            String(format: "ack latency: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms", ms(50), ms(99), ms(99.9)),
            String(format: "CPU (%% of one core): server %.0f, PostgreSQL %.0f, load tester %.0f; server peak RSS %.0f MiB",
                   cpu(after.serverTicks - before.serverTicks), cpu(after.postgresTicks - before.postgresTicks),
                   cpu(after.selfTicks - before.selfTicks), Double(peak) / 1_024),
        ]
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
