/// What is known about a block without decrypting it: the storage row keeps these next to the
/// sealed bytes (to choose blocks for a query), and sealing binds them, so a row whose summary
/// was altered no longer opens. The decoder takes them from here rather than from the payload.
public struct BlockSummary: Sendable, Hashable {
    public let sampleCount: Int
    public let firstMs: Int64
    public let lastMs: Int64

    /// Checks the count range and `firstMs <= lastMs` (equal only for one sample).
    public init(sampleCount: Int, firstMs: Int64, lastMs: Int64) throws {
        guard sampleCount >= 1, sampleCount <= ChannelSeries.maxSampleCount else {
            throw TelemetryBlockError.malformed("sample count \(sampleCount) outside 1...\(ChannelSeries.maxSampleCount)")
        }
        guard sampleCount == 1 ? firstMs == lastMs : firstMs < lastMs else {
            throw TelemetryBlockError.malformed("time range \(firstMs)...\(lastMs) does not fit \(sampleCount) samples")
        }
        self.init(unchecked: sampleCount, firstMs: firstMs, lastMs: lastMs)
    }

    init(unchecked sampleCount: Int, firstMs: Int64, lastMs: Int64) {
        self.sampleCount = sampleCount
        self.firstMs = firstMs
        self.lastMs = lastMs
    }
}
