import Foundation
import WattlineClient
import WattlineProtos

/// Reading telemetry back through the Swift SDK as the signed-in person: raw samples, daily energy
/// in the site's time zone, latest values. One line per value on stdout, times as ms and UTC ISO.
enum TelemetryCommands {
    static func raw(tenant: String, channel: UInt64, fromMs: Int64, toMs: Int64, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let tenantID = try TenancyCommands.bytes(tenant)
        try await TelemetryV1.QueryService.Client(client).readRaw(.with {
            $0.tenantID = tenantID
            $0.channelIDs = [channel]
            $0.range = .with { $0.startMs = fromMs; $0.endMs = toMs }
        }, options: options) { responses in
            for try await response in responses {
                guard let chunk = response.chunk else { continue }
                var time = chunk.startMs
                for index in chunk.values.indices {
                    time += Int64(chunk.timeDeltasMs[index])
                    print("\(time) \(iso(time)) \(chunk.values[index]) \(chunk.qualities.isEmpty ? 0 : chunk.qualities[index])")
                }
            }
        }
    }

    /// Consumption per local day of the channel's site (its counter's resets handled by the server).
    static func energy(tenant: String, channel: UInt64, fromMs: Int64, toMs: Int64, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let tenantID = try TenancyCommands.bytes(tenant)
        let response = try await TelemetryV1.QueryService.Client(client).readEnergy(.with {
            $0.tenantID = tenantID
            $0.channelIDs = [channel]
            $0.range = .with { $0.startMs = fromMs; $0.endMs = toMs }
            $0.bucketing = .with { $0.kind = .calendar(.day) }
        }, options: options)
        for series in response.series {
            for index in series.bucketStartMs.indices {
                print("\(series.bucketStartMs[index]) \(iso(series.bucketStartMs[index])) \(series.consumption[index]) \(series.resets[index])")
            }
        }
    }

    static func latest(tenant: String, channels: [UInt64], client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let tenantID = try TenancyCommands.bytes(tenant)
        let response = try await TelemetryV1.QueryService.Client(client).readLatest(.with {
            $0.tenantID = tenantID
            $0.channelIDs = channels
        }, options: options)
        for index in response.channelIDs.indices {
            print("\(response.channelIDs[index]) \(response.timesMs[index]) \(iso(response.timesMs[index])) \(response.values[index]) \(response.qualities[index])")
        }
    }

    /// `--from`/`--to`: ms since the epoch or an ISO 8601 instant; default the last `days` days until now.
    static func range(from: String?, to: String?, days: Int) throws -> (Int64, Int64) {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        let end = try to.map(instant) ?? now + 1
        return (try from.map(instant) ?? end - Int64(days) * 86_400_000, end)
    }

    static func instant(_ text: String) throws -> Int64 {
        if let ms = Int64(text) { return ms }
        guard let date = ISO8601DateFormatter().date(from: text) else {
            throw CLIError("\(text) is neither ms since the epoch nor an ISO 8601 instant such as 2026-11-29T00:00:00Z")
        }
        return Int64(date.timeIntervalSince1970 * 1_000)
    }

    static func iso(_ ms: Int64) -> String {
        ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1_000))
    }
}
