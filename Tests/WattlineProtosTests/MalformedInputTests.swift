import Testing
import WattlineProtos
import WattlineTestSupport

/// Hostile and broken input: every case must throw a precise `ProtoError`, never trap or leak.
@Suite("Malformed input")
struct MalformedInputTests {
    static let batchBytes = GoldenMessages.telemetryBatch.serializedBytes()

    @Test("every truncation of a valid batch is rejected or decodes to a prefix-consistent message")
    func truncated() {
        let bytes = Self.batchBytes
        for length in 0..<bytes.count {
            let prefix = Array(bytes[0..<length])
            // A cut on a field boundary is itself a valid (shorter) message; inside a field it must fail.
            do {
                _ = try TelemetryV1.TelemetryBatch(serializedBytes: prefix)
            } catch {
                #expect(error.code == .malformed, "length \(length): \(error)")
            }
            do {
                _ = try TelemetryBatchView(serializedBytes: prefix)
            } catch {
                #expect(error.code == .malformed || error.code == .invalidStructure, "length \(length): \(error)")
            }
        }
        // Cutting the last packed column in half is always inside a field.
        #expect(throws: ProtoError.self) { try TelemetryV1.TelemetryBatch(serializedBytes: Array(bytes.dropLast(3))) }
    }

    @Test("a known field with the wrong wire type is rejected")
    func wrongWireType() throws {
        // Field 1 (sequence, varint) sent as fixed32 (wire type 5).
        let error = #expect(throws: ProtoError.self) {
            try TelemetryV1.TelemetryBatch(serializedBytes: [0x0d, 0x01, 0x02, 0x03, 0x04])
        }
        #expect(error?.code == .malformed)
        // Field 1 of CallHeader (method, string) sent as varint.
        #expect(throws: ProtoError.self) { try RpcV1.CallHeader(serializedBytes: [0x08, 0x01]) }
    }

    @Test("a length prefix far past the end is rejected without allocating it")
    func hugeLengthPrefix() {
        // Field 6 (values, packed doubles) claiming 2^62 bytes.
        let huge: [UInt8] = [0x32, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0x00]
        #expect(throws: ProtoError.self) { try TelemetryV1.TelemetryBatch(serializedBytes: huge) }
        // A string claiming 4 GiB.
        #expect(throws: ProtoError.self) { try RpcV1.CallHeader(serializedBytes: [0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x41]) }
        // An over-long varint (11 bytes).
        #expect(throws: ProtoError.self) {
            try TelemetryV1.TelemetryBatch(serializedBytes: [0x08] + [UInt8](repeating: 0xff, count: 10) + [0x01])
        }
    }

    @Test("10 MB of random bytes never decodes into a crash, for every message type")
    func randomBytes() {
        var generator = SplitMix64(seed: 0x5EED_CAFE)
        let random = (0..<10_000_000).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
        let generous = ProtoLimits(maxMessageSize: 16 << 20, maxDecodedSize: 256 << 20)
        for (name, type) in ProtoRegistry.messages {
            #expect(throws: ProtoError.self, "\(name)") { try type.init(serializedBytes: random, limits: generous) }
        }
        // Shorter random prefixes exercise early failures too.
        for length in stride(from: 1, to: 4_000, by: 37) {
            let slice = Array(random[0..<length])
            for (_, type) in ProtoRegistry.messages {
                _ = try? type.init(serializedBytes: slice, limits: .default)
            }
            _ = try? TelemetryBatchView(serializedBytes: slice)
        }
        // Default limits reject 10 MB up front.
        let error = #expect(throws: ProtoError.self) { try TelemetryV1.TelemetryBatch(serializedBytes: random) }
        #expect(error?.code == .messageTooLarge)
    }

    @Test("decoded memory is bounded: a message expanding past the limit is rejected")
    func decodedSizeLimit() {
        // 100,000 one-byte varints (channel ids) expand to 800,000 bytes of uint64.
        let count = 100_000
        let bytes: [UInt8] = [0x1a] + varint(UInt64(count)) + [UInt8](repeating: 0x02, count: count)
        let tight = ProtoLimits(maxMessageSize: 1 << 20, maxDecodedSize: 256 << 10)
        let error = #expect(throws: ProtoError.self) { try TelemetryV1.TelemetryBatch(serializedBytes: bytes, limits: tight) }
        #expect(error?.code == .decodedSizeLimitExceeded)
        #expect(throws: ProtoError.self) { try TelemetryBatchView(serializedBytes: bytes, limits: tight) }
        // The same input decodes under the default limits.
        #expect((try? TelemetryV1.TelemetryBatch(serializedBytes: bytes))?.channelIDs.count == count)
    }

    @Test("invalid UTF-8 in a string field is rejected")
    func invalidUTF8() {
        let error = #expect(throws: ProtoError.self) {
            try RpcV1.CallHeader(serializedBytes: [0x0a, 0x03, 0x61, 0xc3, 0x28])
        }
        #expect(error?.code == .invalidUTF8)
    }

    @Test("a batch whose columns disagree is rejected by the view with the reason")
    func inconsistentBatch() throws {
        func reject(_ change: (inout TelemetryV1.TelemetryBatch) -> Void) -> ProtoError? {
            var batch = GoldenMessages.telemetryBatch
            change(&batch)
            return #expect(throws: ProtoError.self) { try TelemetryBatchView(serializedBytes: batch.serializedBytes()) }
        }
        #expect(reject { $0.sampleCounts = [3, 3] }?.code == .invalidStructure)
        #expect(reject { $0.sampleCounts = [3, 3, 3] }?.message.contains("more than") == true)
        #expect(reject { $0.sampleCounts = [2, 2, 1] }?.message.contains("add up to 5") == true)
        #expect(reject { $0.sampleCounts = [0, 5, 1] }?.message.contains("no samples") == true)
        #expect(reject { $0.timeDeltasMs.removeLast() }?.message.contains("time deltas") == true)
        #expect(reject { $0.qualities = [1] }?.message.contains("qualities") == true)
        #expect(reject { $0.seriesStartMs.removeLast() }?.message.contains("series start times") == true)
        #expect(reject { $0.seriesStartMs[1] = .min }?.message.contains("outside") == true)
        // The unmodified batch is accepted.
        #expect(try TelemetryBatchView(serializedBytes: Self.batchBytes).sampleCount == 6)
    }

    private func varint(_ value: UInt64) -> [UInt8] {
        var value = value
        var out: [UInt8] = []
        while value >= 0x80 {
            out.append(UInt8(value & 0x7f) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
        return out
    }
}

