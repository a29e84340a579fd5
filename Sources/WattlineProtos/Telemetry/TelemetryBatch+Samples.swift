extension TelemetryV1.TelemetryBatch {
    /// A batch holding `samples`, grouped into one series per channel (channels in order of first
    /// appearance, samples of a channel in the order given) and delta-coded against `baseTimeMs`
    /// (default: the first sample's time). Quality is sent only if some sample has a flag.
    public init<Samples: Sequence<TelemetrySample>>(sequence: UInt64, samples: Samples, baseTimeMs: Int64? = nil) {
        self.init()
        self.sequence = sequence
        var seriesOf: [UInt64: Int] = [:]
        var series: [[TelemetrySample]] = []
        for sample in samples {
            if let index = seriesOf[sample.channelID] {
                series[index].append(sample)
            } else {
                seriesOf[sample.channelID] = series.count
                series.append([sample])
            }
        }
        let base = baseTimeMs ?? series.first?.first?.timeMs ?? 0
        self.baseTimeMs = base
        let total = series.reduce(0) { $0 + $1.count }
        channelIDs.reserveCapacity(series.count)
        sampleCounts.reserveCapacity(series.count)
        timeDeltasMs.reserveCapacity(total)
        values.reserveCapacity(total)
        var anyFlag = false
        for samples in series {
            channelIDs.append(samples[0].channelID)
            sampleCounts.append(UInt32(samples.count))
            var previous = base
            for sample in samples {
                timeDeltasMs.append(sample.timeMs &- previous)
                previous = sample.timeMs
                values.append(sample.value)
                anyFlag = anyFlag || sample.quality != 0
            }
        }
        if anyFlag {
            qualities = series.flatMap { $0.map(\.quality) }
        }
    }
}
