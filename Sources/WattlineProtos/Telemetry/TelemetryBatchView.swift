import CProtobufC
import CWattlineProtos

/// One sample of a telemetry batch, with its absolute time.
public struct TelemetrySample: Hashable, Sendable {
    public var channelID: UInt64
    public var timeMs: Int64
    public var value: Double
    /// `TelemetryV1.QualityFlag` bits; 0 is a good value.
    public var quality: UInt32

    public init(channelID: UInt64, timeMs: Int64, value: Double, quality: UInt32 = 0) {
        self.channelID = channelID
        self.timeMs = timeMs
        self.value = value
        self.quality = quality
    }
}

/// A decoded `TelemetryBatch` whose columns are read in place: the ingest path's decoder.
///
/// Decoding allocates per batch, never per sample: protobuf-c unpacks into one arena, and the
/// columns are views into it. The initialiser also checks the batch's structure (column lengths
/// agree, every series has samples, series start times within ±2^53 ms so that no reconstructed
/// time can overflow), so a view that exists is a batch whose samples can be walked safely.
public final class TelemetryBatchView: @unchecked Sendable {
    // Immutable after init; the arena owns the C structure the columns point into.
    private let arena: ProtoArena
    private let c: UnsafePointer<Wattline__Telemetry__V1__TelemetryBatch>

    /// The logger's sequence number of this batch.
    public var sequence: UInt64 { c.pointee.sequence }
    /// Time of each series' reference point, ms since the epoch.
    public var seriesStartMs: ProtoColumn<Int64> { column(c.pointee.series_start_ms, c.pointee.n_series_start_ms) }
    /// Channel of each series.
    public var channelIDs: ProtoColumn<UInt64> { column(c.pointee.channel_ids, c.pointee.n_channel_ids) }
    /// Number of samples of each series.
    public var sampleCounts: ProtoColumn<UInt32> { column(c.pointee.sample_counts, c.pointee.n_sample_counts) }
    /// Per-sample time deltas, as sent (see `TelemetryBatch`).
    public var timeDeltasMs: ProtoColumn<Int32> { column(c.pointee.time_deltas_ms, c.pointee.n_time_deltas_ms) }
    /// Per-sample values.
    public var values: ProtoColumn<Double> { column(c.pointee.values, c.pointee.n_values) }
    /// Per-sample quality bits; empty when every sample is good.
    public var qualities: ProtoColumn<UInt32> { column(c.pointee.qualities, c.pointee.n_qualities) }
    /// Number of samples in the batch.
    public var sampleCount: Int { c.pointee.n_values }

    public init(serializedBytes bytes: [UInt8], limits: ProtoLimits = .default) throws(ProtoError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ProtoError) in try Self.unpack(raw, limits: limits) }
        }
        (arena, c) = try result.get()
        try validate()
    }

    public init(serializedBytes bytes: UnsafeRawBufferPointer, limits: ProtoLimits = .default) throws(ProtoError) {
        (arena, c) = try Self.unpack(bytes, limits: limits)
        try validate()
    }

    private static func unpack(
        _ bytes: UnsafeRawBufferPointer, limits: ProtoLimits
    ) throws(ProtoError) -> (ProtoArena, UnsafePointer<Wattline__Telemetry__V1__TelemetryBatch>) {
        try TelemetryV1.TelemetryBatch.unpack(bytes, limits: limits)
    }

    private func column<T>(_ pointer: UnsafeMutablePointer<T>?, _ count: Int) -> ProtoColumn<T> {
        ProtoColumn(owner: arena, pointer, count: count)
    }

    private func invalid(_ why: String) -> ProtoError {
        ProtoError(.invalidStructure, "\(TelemetryV1.TelemetryBatch.protoName): \(why)")
    }

    private func validate() throws(ProtoError) {
        let batch = c.pointee
        let samples = batch.n_values
        guard batch.n_sample_counts == batch.n_channel_ids else {
            throw invalid("\(batch.n_channel_ids) channel ids but \(batch.n_sample_counts) sample counts")
        }
        guard batch.n_time_deltas_ms == samples else {
            throw invalid("\(samples) values but \(batch.n_time_deltas_ms) time deltas")
        }
        guard batch.n_qualities == 0 || batch.n_qualities == samples else {
            throw invalid("\(batch.n_qualities) qualities for \(samples) samples (must be 0 or one per sample)")
        }
        var start = 0
        for series in 0..<batch.n_channel_ids {
            let count = Int(batch.sample_counts[series])
            guard count > 0 else { throw invalid("series \(series) has no samples") }
            guard count <= samples - start else {
                throw invalid("sample counts add up to more than the \(samples) samples")
            }
            start += count
        }
        guard start == samples else {
            throw invalid("sample counts add up to \(start) but the batch has \(samples) samples")
        }
        guard batch.n_series_start_ms == batch.n_channel_ids else {
            throw invalid("\(batch.n_channel_ids) channel ids but \(batch.n_series_start_ms) series start times")
        }
        // |start| <= 2^53 and fewer than 2^31 deltas of at most 2^31 each: no running time can overflow.
        for series in 0..<batch.n_series_start_ms where batch.series_start_ms[series].magnitude > Self.timeBound {
            throw invalid("series \(series) starts outside +/-2^53 ms")
        }
    }

    private static let timeBound: UInt64 = 1 << 53

    /// Calls `body` for every sample, series by series, with absolute times.
    public func forEachSample(_ body: (TelemetrySample) throws -> Void) rethrows {
        try withExtendedLifetime(arena) {
            let batch = c.pointee
            var index = 0
            for series in 0..<batch.n_channel_ids {
                var time = batch.series_start_ms[series]
                for _ in 0..<Int(batch.sample_counts[series]) {
                    time &+= Int64(batch.time_deltas_ms[index])  // validated: cannot overflow
                    try body(TelemetrySample(
                        channelID: batch.channel_ids[series], timeMs: time, value: batch.values[index],
                        quality: batch.n_qualities == 0 ? 0 : batch.qualities[index]))
                    index += 1
                }
            }
        }
    }
}
