/// What a sealed block belongs to; its encoding is the AES-GCM associated data:
///
///     "wattline-telemetry-block" | sealed format version (1) | tenant (16) | channel (u64 BE)
///     | sample count (u32 BE) | first ms (i64 BE) | last ms (i64 BE)
///
/// Every field has a fixed width, so no two bindings share an encoding; a block copied to another
/// tenant, channel or time range, or whose stored summary was edited, fails to open.
public struct BlockBinding: Sendable, Hashable {
    public static let tenantByteCount = 16
    static let label = Array("wattline-telemetry-block".utf8)

    public let tenantID: [UInt8]
    public let channelID: UInt64
    public let summary: BlockSummary

    public init(tenantID: [UInt8], channelID: UInt64, summary: BlockSummary) throws {
        guard tenantID.count == Self.tenantByteCount else {
            throw TelemetryBlockError(.invalidSamples, "tenant must be a 16-byte UUID, got \(tenantID.count) bytes")
        }
        self.tenantID = tenantID
        self.channelID = channelID
        self.summary = summary
    }

    var associatedData: [UInt8] {
        var bytes = Self.label
        bytes.reserveCapacity(Self.label.count + 1 + 16 + 8 + 4 + 8 + 8)
        bytes.append(SealedBlock.version)
        bytes.append(contentsOf: tenantID)
        withUnsafeBytes(of: channelID.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: UInt32(summary.sampleCount).bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: summary.firstMs.bigEndian) { bytes.append(contentsOf: $0) }
        withUnsafeBytes(of: summary.lastMs.bigEndian) { bytes.append(contentsOf: $0) }
        return bytes
    }
}
