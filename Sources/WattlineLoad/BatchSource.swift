import Foundation
import Synchronization
import WattlineProtos

/// Where a simulated logger's new batches come from. It outlives the logger's streams (a
/// reconnect continues where the previous stream stopped).
protocol BatchSource: Sendable {
    /// The next new batch, numbered `sequence`; nil once the source has nothing more to send.
    func next(sequence: UInt64) -> TelemetryV1.TelemetryBatch?
}

/// Synthetic meter readings on a virtual clock that starts a week ago (backfill) and advances one
/// second per poll: `batchSamples` readings per batch, one sample per channel per poll.
final class SyntheticReadings: BatchSource {
    let channels: [UInt64]
    let batchSamples: Int
    private let clock = Mutex(Int64(Date().timeIntervalSince1970 * 1_000) - 7 * 86_400_000)

    init(channels: [UInt64], batchSamples: Int) {
        self.channels = channels
        self.batchSamples = batchSamples
    }

    func next(sequence: UInt64) -> TelemetryV1.TelemetryBatch? {
        let polls = max(1, batchSamples / max(1, channels.count))
        let start = clock.withLock { clock in
            defer { clock += Int64(polls) * 1_000 }
            return clock
        }
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

/// A recorded logger's samples (from `gen_telemetry.py --format bin`), sent in file order,
/// `batchSamples` at a time; then nothing.
final class ReplayedReadings: BatchSource {
    let batchSamples: Int
    private let remaining: Mutex<ArraySlice<TelemetrySample>>

    init(samples: [TelemetrySample], batchSamples: Int) {
        self.batchSamples = max(1, batchSamples)
        self.remaining = Mutex(samples[...])
    }

    func next(sequence: UInt64) -> TelemetryV1.TelemetryBatch? {
        let samples = remaining.withLock { remaining -> ArraySlice<TelemetrySample> in
            defer { remaining = remaining.dropFirst(batchSamples) }
            return remaining.prefix(batchSamples)
        }
        return samples.isEmpty ? nil : TelemetryV1.TelemetryBatch(sequence: sequence, samples: samples)
    }

    /// The recordings shifted in time so that the latest sample of all is now (the server takes
    /// samples from its backfill window up to a few minutes ahead).
    static func rebasedToNow(_ recorded: [[TelemetrySample]]) -> [[TelemetrySample]] {
        guard let last = recorded.joined().map(\.timeMs).max() else { return recorded }
        let shift = Int64(Date().timeIntervalSince1970 * 1_000) - last
        return recorded.map { samples in samples.map { TelemetrySample(channelID: $0.channelID, timeMs: $0.timeMs + shift, value: $0.value, quality: $0.quality) } }
    }

    /// The file's loggers in order of their ids, each logger's samples with its channels mapped in
    /// order onto `fleet`'s channels of the logger at the same position (gen_telemetry numbers a
    /// logger's channels meter by meter in the quantity order `Fleet.setup` creates them in).
    static func load(_ path: String, fleet: [Fleet.Logger]) throws -> [[TelemetrySample]] {
        guard let data = FileManager.default.contents(atPath: path), data.count % 32 == 0 else {
            throw LoadError("\(path) is missing or not gen_telemetry.py --format bin rows of 32 bytes")
        }
        var byLogger: [UInt64: [(channel: UInt64, time: Int64, value: Double)]] = [:]
        data.withUnsafeBytes { raw in
            for offset in stride(from: 0, to: raw.count, by: 32) {
                func field<T: FixedWidthInteger>(_ at: Int, _ type: T.Type) -> T { T(littleEndian: raw.loadUnaligned(fromByteOffset: offset + at, as: T.self)) }
                byLogger[field(0, UInt64.self), default: []].append(
                    (field(8, UInt64.self), field(16, Int64.self), Double(bitPattern: field(24, UInt64.self))))
            }
        }
        guard byLogger.count <= fleet.count else {
            throw LoadError("\(path) has \(byLogger.count) loggers; the fleet only \(fleet.count)")
        }
        return try byLogger.keys.sorted().enumerated().map { position, id in
            let rows = byLogger[id]!
            let channels = Set(rows.map(\.channel)).sorted()
            guard channels.count <= fleet[position].channels.count else {
                throw LoadError("logger \(id) of \(path) has \(channels.count) channels; fleet logger \(position) only \(fleet[position].channels.count)")
            }
            let mapped = Dictionary(uniqueKeysWithValues: zip(channels, fleet[position].channels))
            return rows.map { TelemetrySample(channelID: mapped[$0.channel]!, timeMs: $0.time, value: $0.value) }
        }
    }
}
