import WattlineProtos

/// A batch that passed validation, ready to store: its samples with the server's quality flags
/// applied, its time range and the hash that tells a resend from a different batch.
struct ValidatedBatch: Sendable {
    let sequence: UInt64
    /// The batch to store (non-finite values flagged `QUALITY_FLAG_SERVER_FLAGGED`).
    let batch: TelemetryV1.TelemetryBatch
    let sampleCount: Int
    let flaggedCount: Int
    let startMs: Int64
    let endMs: Int64
    /// SHA-256 of the batch as received (re-encoded: the same content always hashes the same).
    let contentSHA256: [UInt8]
}

/// Why a batch is rejected: the ack's status code and a message precise enough to fix the logger.
struct BatchRejection: Error, Sendable, Equatable {
    let code: UInt32
    let message: String
    /// For a channel not of the logger's site: which one (the service tells unknown from foreign).
    var channel: UInt64? = nil

    static func invalid(_ message: String) -> BatchRejection { BatchRejection(code: 3, message: message) }

    static func notOfThisSite(_ channel: UInt64) -> BatchRejection {
        BatchRejection(code: 5, message: "channel \(channel) does not exist; create it first (MeterService.CreateChannel)", channel: channel)
    }

    static func ofAnotherSite(_ channel: UInt64) -> BatchRejection {
        BatchRejection(code: 7, message: "channel \(channel) belongs to another site than this logger's", channel: channel)
    }
}

/// Checks one batch against the contract (telemetry.proto, TelemetryBatch) and the logger's site.
struct BatchValidator: Sendable {
    static let serverFlagged: UInt32 = 16
    /// Bits a logger may set (QualityFlag, without SERVER_FLAGGED).
    static let loggerFlags: UInt32 = 1 | 2 | 4 | 8

    let limits: IngestLimits
    let channels: SiteChannels

    func validate(_ batch: TelemetryV1.TelemetryBatch, now: Int64, hash: ([UInt8]) throws -> [UInt8]) throws(BatchRejection) -> ValidatedBatch {
        guard batch.sequence >= 1, batch.sequence <= UInt64(Int64.max) else {
            throw .invalid("sequence must be at least 1")
        }
        let series = batch.channelIDs.count
        guard series > 0 else { throw .invalid("the batch has no series") }
        guard batch.seriesStartMs.count == series, batch.sampleCounts.count == series else {
            throw .invalid("channel_ids, series_start_ms and sample_counts must have the same length (\(series), \(batch.seriesStartMs.count), \(batch.sampleCounts.count))")
        }
        var total = 0
        for (index, count) in batch.sampleCounts.enumerated() {
            guard count >= 1 else { throw .invalid("sample_counts[\(index)] is 0; every series has at least one sample") }
            total += Int(count)
        }
        guard total <= Int(limits.maxBatchSamples) else {
            throw .invalid("the batch has \(total) samples; at most \(limits.maxBatchSamples) per batch")
        }
        guard batch.timeDeltasMs.count == total, batch.values.count == total else {
            throw .invalid("time_deltas_ms and values must have one entry per sample (\(total)); got \(batch.timeDeltasMs.count) and \(batch.values.count)")
        }
        guard batch.qualities.isEmpty || batch.qualities.count == total else {
            throw .invalid("qualities must be empty or have one entry per sample (\(total)); got \(batch.qualities.count)")
        }
        for channel in Set(batch.channelIDs) where !channels.contains(channel) {
            throw BatchRejection.notOfThisSite(channel)
        }

        let oldest = now - limits.backfillWindowMs
        let newest = now + limits.futureToleranceMs
        var stored = batch
        var qualities = batch.qualities
        var flagged = 0
        var start = Int64.max, end = Int64.min
        var sample = 0
        for index in 0..<series {
            var time = batch.seriesStartMs[index]
            guard time > -(1 << 53), time < (1 << 53) else { throw .invalid("series_start_ms[\(index)] is outside +/-2^53") }
            for _ in 0..<Int(batch.sampleCounts[index]) {
                time += Int64(batch.timeDeltasMs[sample])  // the first sample too: start + its delta
                guard time >= oldest, time <= newest else {
                    throw BatchRejection(code: 11, message: "sample \(sample) (channel \(batch.channelIDs[index])) at \(time) ms is outside the accepted range [\(oldest), \(newest)]")
                }
                start = min(start, time)
                end = max(end, time)
                if !qualities.isEmpty, qualities[sample] & ~Self.loggerFlags != 0 {
                    throw .invalid("qualities[\(sample)] has bits a logger may not set (\(qualities[sample])); SERVER_FLAGGED is the server's")
                }
                if !batch.values[sample].isFinite {
                    if qualities.isEmpty { qualities = [UInt32](repeating: 0, count: total) }
                    qualities[sample] |= Self.serverFlagged
                    flagged += 1
                }
                sample += 1
            }
        }
        stored.qualities = qualities
        let digest: [UInt8]
        do { digest = try hash(batch.serializedBytes()) } catch { throw BatchRejection(code: 13, message: "the batch could not be hashed") }
        return ValidatedBatch(
            sequence: batch.sequence, batch: stored, sampleCount: total, flaggedCount: flagged,
            startMs: start, endMs: end, contentSHA256: digest)
    }
}
