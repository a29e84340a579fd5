import Testing
import WattlineProtos

@Suite("Round trips")
struct RoundTripTests {
    @Test("every contract message round-trips at its defaults and encodes to nothing")
    func defaults() throws {
        #expect(ProtoRegistry.messages.count >= 30)
        for (name, type) in ProtoRegistry.messages {
            let message = type.init()
            let bytes = message.serializedBytes()
            #expect(bytes.isEmpty, "\(name) at defaults should encode to zero bytes")
            let decoded = try type.init(serializedBytes: bytes, limits: .default)
            #expect(AnyHashable(decoded) == AnyHashable(message), "\(name)")
            #expect(type.protoName == name)
        }
    }

    @Test("every method names its service and rpc")
    func methods() {
        #expect(!ProtoRegistry.methods.isEmpty)
        for method in ProtoRegistry.methods {
            let parts = method.path.split(separator: "/")
            #expect(parts.count == 2 && parts[0].hasPrefix("wattline.") && parts[0].hasSuffix("Service"), "\(method.path)")
        }
        #expect(TelemetryV1.IngestService.Ingest.kind == .bidirectionalStreaming)
        #expect(TelemetryV1.QueryService.ReadRaw.kind == .serverStreaming)
        #expect(TelemetryV1.QueryService.ReadLatest.path == "/wattline.telemetry.v1.QueryService/ReadLatest")
    }

    @Test("golden messages survive encode and decode")
    func populated() throws {
        for (name, message) in GoldenMessages.all {
            let decoded = try type(of: message).init(serializedBytes: message.serializedBytes(), limits: .default)
            #expect(AnyHashable(decoded) == AnyHashable(message), "\(name)")
        }
    }

    @Test("unknown enum numbers are kept, known ones map to cases")
    func enums() throws {
        #expect(RpcV1.GoAwayReason(rawValue: 1) == .noError)
        #expect(RpcV1.GoAwayReason(rawValue: 99) == .unrecognized(99))
        #expect(RpcV1.GoAwayReason.unrecognized(99).rawValue == 99)
        for reason in RpcV1.GoAwayReason.allCases {
            #expect(RpcV1.GoAwayReason(rawValue: reason.rawValue) == reason)
        }
        let message = RpcV1.GoAway.with { $0.reason = .unrecognized(-7) }
        #expect(try RpcV1.GoAway(serializedBytes: message.serializedBytes()).reason == .unrecognized(-7))
    }

    @Test("a batch built from samples gives back the same samples through the zero-copy view")
    func batchFromSamples() throws {
        var samples: [TelemetrySample] = []
        for step in 0..<50 {
            for channel in [UInt64(7), 3, 11] {
                samples.append(TelemetrySample(
                    channelID: channel, timeMs: 1_767_225_600_000 + Int64(step) * 15_000 + Int64(channel),
                    value: Double(step) * 0.25 - Double(channel), quality: step == 7 ? 2 : 0))
            }
        }
        let batch = TelemetryV1.TelemetryBatch(sequence: 9, samples: samples)
        #expect(batch.channelIDs == [7, 3, 11])
        #expect(batch.seriesStartMs == [1_767_225_600_007, 1_767_225_600_003, 1_767_225_600_011])
        #expect(batch.sampleCounts == [50, 50, 50])
        let view = try TelemetryBatchView(serializedBytes: batch.serializedBytes())
        var seen: [TelemetrySample] = []
        view.forEachSample { seen.append($0) }
        let grouped = [UInt64(7), 3, 11].flatMap { channel in samples.filter { $0.channelID == channel } }
        #expect(seen == grouped)
        #expect(view.sequence == 9)
        #expect(Array(view.values) == batch.values)
        #expect(Array(view.qualities) == batch.qualities)
    }

    @Test("a gap too large for a 32-bit delta starts another series of the same channel")
    func longGap() throws {
        let samples = [
            TelemetrySample(channelID: 5, timeMs: 0, value: 1),
            TelemetrySample(channelID: 5, timeMs: 1 << 40, value: 2),
            TelemetrySample(channelID: 5, timeMs: (1 << 40) + 1_000, value: 3),
            TelemetrySample(channelID: 5, timeMs: -(1 << 40), value: 4),
        ]
        let batch = TelemetryV1.TelemetryBatch(sequence: 1, samples: samples)
        #expect(batch.channelIDs == [5, 5, 5])
        #expect(batch.sampleCounts == [1, 2, 1])
        var seen: [TelemetrySample] = []
        try TelemetryBatchView(serializedBytes: batch.serializedBytes()).forEachSample { seen.append($0) }
        #expect(seen == samples)
    }
}
