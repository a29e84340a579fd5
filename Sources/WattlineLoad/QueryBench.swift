import Foundation
import WattlineClient
import WattlineProtos

/// Query latencies through the Swift SDK, one call at a time on one connection, as a dashboard
/// issues them: the two targets of docs/performance.md ("Queries") and two more for context.
struct QueryBench {
    let client: WattlineClient
    let options: CallOptions
    let tenant: [UInt8]
    /// The channels with a year of data (the first is the energy counter).
    let yearChannels: [UInt64]
    /// Every channel of the fleet, for latest values.
    let allChannels: [UInt64]
    let rounds: Int

    struct Figure: CustomStringConvertible {
        let name: String
        var latenciesMs: [Double]
        let detail: String

        func percentile(_ p: Double) -> Double {
            let sorted = latenciesMs.sorted()
            return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
        }

        var description: String {
            String(format: "%@: p50 %.2f ms, p99 %.2f ms, max %.2f ms over %d calls (%@)",
                   name, percentile(0.5), percentile(0.99), latenciesMs.max() ?? 0, latenciesMs.count, detail)
        }

        var json: String {
            String(format: #"{"benchmark":"%@","p50_ms":%.3f,"p99_ms":%.3f,"calls":%d}"#, name, percentile(0.5), percentile(0.99), latenciesMs.count)
        }
    }

    func run() async throws -> [Figure] {
        let hour: Int64 = 3_600_000
        let now = Int64(Date().timeIntervalSince1970 * 1_000) / hour * hour
        let year = TelemetryV1.TimeRange.with { $0.startMs = now - 365 * 86_400_000; $0.endMs = now }
        let queries = TelemetryV1.QueryService.Client(client)
        var figures: [Figure] = []

        var buckets = 0
        figures.append(try await measure("year_hourly_aggregates") { round in
            buckets = try await queries.readAggregates(.with {
                $0.tenantID = tenant
                $0.channelIDs = [yearChannels[round % yearChannels.count]]
                $0.range = year
                $0.bucketing = .with { $0.kind = .intervalMs(hour) }
            }, options: options) { responses in
                var count = 0
                for try await response in responses { count += response.bucketStartMs.count }
                return count
            }
        } detail: { "one channel, one year, \(buckets) hourly buckets with all 7 functions" })

        let latest = Array(allChannels.prefix(500))
        var answered = 0
        figures.append(try await measure("latest_500_channels") { _ in
            answered = try await queries.readLatest(.with { $0.tenantID = tenant; $0.channelIDs = latest }, options: options).channelIDs.count
        } detail: { "\(latest.count) channels asked, \(answered) answered" })

        var days = 0
        figures.append(try await measure("year_daily_energy_site_zone") { _ in
            days = try await queries.readEnergy(.with {
                $0.tenantID = tenant
                $0.channelIDs = [yearChannels[0]]
                $0.range = year
                $0.bucketing = .with { $0.kind = .calendar(.day) }
            }, options: options).series.first?.bucketStartMs.count ?? 0
        } detail: { "the energy counter, \(days) local days of the site" })

        var samples = 0
        figures.append(try await measure("raw_one_day") { round in
            samples = try await queries.readRaw(.with {
                $0.tenantID = tenant
                $0.channelIDs = [yearChannels[round % yearChannels.count]]
                $0.range = .with { $0.startMs = now - 2 * 86_400_000; $0.endMs = now - 86_400_000 }
            }, options: options) { responses in
                var count = 0
                for try await response in responses { count += response.chunk?.values.count ?? 0 }
                return count
            }
        } detail: { "one channel, \(samples) samples" })
        return figures
    }

    /// `rounds` timed calls after `rounds / 10` untimed ones.
    private func measure(_ name: String, _ call: (Int) async throws -> Void, detail: () -> String) async throws -> Figure {
        for round in 0..<max(1, rounds / 10) { try await call(round) }
        var latencies: [Double] = []
        for round in 0..<rounds {
            let started = ContinuousClock.now
            try await call(round)
            let elapsed = ContinuousClock.now - started
            latencies.append(Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15)
        }
        return Figure(name: name, latenciesMs: latencies, detail: detail())
    }
}
