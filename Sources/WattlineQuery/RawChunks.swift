import WattlineProtos
import WattlineTelemetry

/// Raw samples as `SeriesChunk`s: times coded as deltas from the chunk's start, a new chunk at
/// `limit` samples or where a gap does not fit a 32-bit delta.
enum RawChunks {
    static func chunks(channel: UInt64, _ series: ChannelSeries, limit: Int) -> [TelemetryV1.SeriesChunk] {
        var chunks: [TelemetryV1.SeriesChunk] = []
        var current = TelemetryV1.SeriesChunk()
        var previous: Int64 = 0
        var anyFlag = false
        func finish() {
            if !anyFlag { current.qualities = [] }
            chunks.append(current)
        }
        for index in 0..<series.count {
            let time = series.timesMs[index]
            if current.timeDeltasMs.isEmpty || current.timeDeltasMs.count >= limit || time - previous > Int64(Int32.max) {
                if !current.timeDeltasMs.isEmpty { finish() }
                current = .with {
                    $0.channelID = channel
                    $0.startMs = time
                }
                previous = time
                anyFlag = false
            }
            current.timeDeltasMs.append(Int32(time - previous))
            current.values.append(series.values[index])
            current.qualities.append(series.qualities[index])
            anyFlag = anyFlag || series.qualities[index] != 0
            previous = time
        }
        if !current.timeDeltasMs.isEmpty { finish() }
        return chunks
    }
}
