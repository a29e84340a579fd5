import Testing
import WattlineCrypto
import WattlineTelemetry

@Suite struct SealedBlockTests {
    let context = try! AEAD.Context(key: SecretKey.random())
    let channel: UInt64 = 10_000_042

    func sealedSample() throws -> (bytes: [UInt8], summary: BlockSummary, input: ChannelSeries) {
        var rng = SeededGenerator(seed: 8)
        let times = pollTimes(count: 500, using: &rng)
        let input = try series(times, walk(count: times.count, start: 50, step: 0.01, decimals: 2, using: &rng))
        let (bytes, summary) = try SealedBlock.seal(input, tenantID: tenantA, channelID: channel, context: context)
        return (bytes, summary, input)
    }

    @Test func sealsAndOpens() throws {
        let (bytes, summary, input) = try sealedSample()
        #expect(bytes.count == BlockCodec.encode(input).count + SealedBlock.overhead)
        #expect(bytes[0] == SealedBlock.version)
        let opened = try SealedBlock.open(bytes, binding: BlockBinding(tenantID: tenantA, channelID: channel, summary: summary), context: context)
        #expect(opened.isBitwiseEqual(to: input))
        // Random nonces: sealing twice gives different bytes that both open.
        let again = try SealedBlock.seal(input, tenantID: tenantA, channelID: channel, context: context).bytes
        #expect(again != bytes)
    }

    @Test func bindingToTenantChannelAndRange() throws {
        let (bytes, summary, _) = try sealedSample()
        let bindings = [
            try BlockBinding(tenantID: tenantB, channelID: channel, summary: summary),
            try BlockBinding(tenantID: tenantA, channelID: channel + 1, summary: summary),
            try BlockBinding(
                tenantID: tenantA, channelID: channel,
                summary: BlockSummary(sampleCount: summary.sampleCount, firstMs: summary.firstMs - 1, lastMs: summary.lastMs)),
            try BlockBinding(
                tenantID: tenantA, channelID: channel,
                summary: BlockSummary(sampleCount: summary.sampleCount, firstMs: summary.firstMs, lastMs: summary.lastMs + 1)),
            try BlockBinding(
                tenantID: tenantA, channelID: channel,
                summary: BlockSummary(sampleCount: summary.sampleCount - 1, firstMs: summary.firstMs, lastMs: summary.lastMs)),
        ]
        for binding in bindings {
            let error = #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(bytes, binding: binding, context: context) }
            #expect(error?.code == .authenticationFailed)
        }
        let otherKey = try AEAD.Context(key: SecretKey.random())
        let right = try BlockBinding(tenantID: tenantA, channelID: channel, summary: summary)
        let error = #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(bytes, binding: right, context: otherKey) }
        #expect(error?.code == .authenticationFailed)
    }

    @Test func tamperedTruncatedAndForeignBytes() throws {
        let (bytes, summary, _) = try sealedSample()
        let binding = try BlockBinding(tenantID: tenantA, channelID: channel, summary: summary)
        for index in stride(from: 1, to: bytes.count, by: 7) {
            var tampered = bytes
            tampered[index] ^= 0x04
            #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(tampered, binding: binding, context: context) }
        }
        for length in 0..<bytes.count {
            #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(Array(bytes[..<length]), binding: binding, context: context) }
        }
        var version = bytes
        version[0] = 2
        let error = #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(version, binding: binding, context: context) }
        #expect(error?.code == .unsupportedVersion)
        let oversized = [UInt8](repeating: SealedBlock.version, count: SealedBlock.maxByteCount + 1)
        #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(oversized, binding: binding, context: context) }
        #expect(throws: TelemetryBlockError.self) { try BlockBinding(tenantID: [1, 2, 3], channelID: channel, summary: summary) }
    }

    @Test func aSealedGarbagePlaintextIsMalformedNotATrap() throws {
        // What an attacker holding the key could store: authentic, but not a block.
        let summary = try BlockSummary(sampleCount: 1_000, firstMs: 0, lastMs: 999_999)
        let binding = try BlockBinding(tenantID: tenantA, channelID: channel, summary: summary)
        let garbage: [UInt8] = [BlockCodec.version, 0x7F] + Array(repeating: 0xEE, count: 300)
        let sealed = try SealedBlock.seal(plaintext: garbage, binding: binding, context: context)
        let error = #expect(throws: TelemetryBlockError.self) { try SealedBlock.open(sealed, binding: binding, context: context) }
        #expect(error?.code == .malformed)
    }
}
