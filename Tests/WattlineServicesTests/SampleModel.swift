import WattlineProtos
import WattlineTelemetry

/// What the server must have stored from the batches a test sent: per channel and time, the
/// value and quality sent last (a non-finite value flagged SERVER_FLAGGED, as ingest does).
struct SampleModel {
    var samples: [UInt64: [Int64: (value: Double, quality: UInt32)]] = [:]

    init(_ batches: [TelemetryV1.TelemetryBatch] = []) {
        batches.forEach { add($0) }
    }

    mutating func add(_ batch: TelemetryV1.TelemetryBatch) {
        var index = 0
        for (series, channel) in batch.channelIDs.enumerated() {
            var time = batch.seriesStartMs[series]
            for _ in 0..<batch.sampleCounts[series] {
                time += Int64(batch.timeDeltasMs[index])
                let value = batch.values[index]
                let quality = (batch.qualities.isEmpty ? 0 : batch.qualities[index]) | (value.isFinite ? 0 : 16)
                samples[channel, default: [:]][time] = (value, quality)
                index += 1
            }
        }
    }

    /// "time bits quality" per sample in time order, to compare with what the server reads.
    func series(_ channel: UInt64) -> [String] {
        (samples[channel] ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.value.bitPattern) \($0.value.quality)" }
    }

    /// The finite readings in time order: what aggregates and energy are computed from.
    func finite(_ channel: UInt64) -> [Reading] {
        (samples[channel] ?? [:]).sorted { $0.key < $1.key }.filter { $0.value.value.isFinite }
            .map { Reading(timeMs: $0.key, value: $0.value.value, quality: $0.value.quality) }
    }
}
