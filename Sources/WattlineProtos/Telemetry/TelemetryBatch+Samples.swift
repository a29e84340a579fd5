extension TelemetryV1.TelemetryBatch {
    /// A batch holding `samples`, grouped into one series per channel (channels in order of first
    /// appearance, samples of a channel in the order given; a gap too large for a 32-bit delta
    /// starts another series of the same channel). Quality is sent only if some sample has a flag.
    public init<Samples: Sequence<TelemetrySample>>(sequence: UInt64, samples: Samples) {
        self.init()
        self.sequence = sequence
        var seriesOf: [UInt64: Int] = [:]
        var grouped: [[TelemetrySample]] = []
        for sample in samples {
            if let index = seriesOf[sample.channelID] {
                grouped[index].append(sample)
            } else {
                seriesOf[sample.channelID] = grouped.count
                grouped.append([sample])
            }
        }
        let total = grouped.reduce(0) { $0 + $1.count }
        timeDeltasMs.reserveCapacity(total)
        values.reserveCapacity(total)
        var anyFlag = false
        for channelSamples in grouped {
            var previous = Int64.min
            for sample in channelSamples {
                let delta = sample.timeMs.subtractingReportingOverflow(previous)
                if delta.overflow || Int32(exactly: delta.partialValue) == nil {
                    channelIDs.append(sample.channelID)
                    seriesStartMs.append(sample.timeMs)
                    sampleCounts.append(0)
                    timeDeltasMs.append(0)
                } else {
                    timeDeltasMs.append(Int32(delta.partialValue))
                }
                sampleCounts[sampleCounts.count - 1] += 1
                previous = sample.timeMs
                values.append(sample.value)
                anyFlag = anyFlag || sample.quality != 0
            }
        }
        if anyFlag {
            qualities = grouped.flatMap { $0.map(\.quality) }
        }
    }
}
