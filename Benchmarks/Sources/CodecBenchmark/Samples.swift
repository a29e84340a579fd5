import Foundation
import WattlineProtos

/// The benchmark's 1,000 samples: the first 1,000 records of a `gen_telemetry.py --format bin`
/// file when one is given (the figures reported in docs/performance.md), otherwise a synthetic
/// stand-in of the same shape (56 channels polled every 60 s).
enum Samples {
    static let batchSize = 1_000

    static func load(path: String?) throws -> (samples: [TelemetrySample], source: String) {
        guard let path else { return (synthetic(), "synthetic (no --data file given)") }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        precondition(data.count >= 32 * batchSize, "\(path) holds fewer than \(batchSize) records")
        let samples = data.withUnsafeBytes { raw in
            (0..<batchSize).map { index in
                let base = index * 32
                return TelemetrySample(
                    channelID: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 8, as: UInt64.self)),
                    timeMs: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 16, as: Int64.self)),
                    value: Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: base + 24, as: UInt64.self))))
            }
        }
        return (samples, path)
    }

    private static func synthetic() -> [TelemetrySample] {
        (0..<batchSize).map { index in
            let poll = Int64(index / 56), channel = UInt64(index % 56)
            return TelemetrySample(
                channelID: 10_000 + channel, timeMs: 1_767_225_600_000 + poll * 60_000 + Int64(index % 7),
                value: (Double(channel) * 13.7 + Double(poll) * 0.01).rounded(toPlaces: 2))
        }
    }
}

extension Double {
    fileprivate func rounded(toPlaces places: Int) -> Double {
        let scale = Foundation.pow(10, Double(places))
        return (self * scale).rounded() / scale
    }
}
