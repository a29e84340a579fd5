/// What the ingest stream accepts; the welcome tells the logger.
public struct IngestLimits: Sendable {
    /// Most batches a logger may keep unacknowledged (its hello may ask for fewer).
    public var maxInFlight: UInt32 = 32
    /// Most samples in one batch.
    public var maxBatchSamples: UInt32 = 100_000
    /// How far back a sample may be (backfill after an outage): 400 days.
    public var backfillWindowMs: Int64 = 400 * 86_400_000
    /// How far ahead of the server's clock a sample may be (logger clock skew): 5 minutes.
    public var futureToleranceMs: Int64 = 300_000
    /// Most batches one group commit writes.
    public var maxGroup = 256

    public init() {}
}
