import WattlineCrypto
import WattlineStore
import WattlineTelemetry

/// A row of `wattline.telemetry_blocks`: one channel's samples over [first, last] of one UTC day,
/// encoded by `BlockCodec` and sealed with the tenant's data key `keyID`. The summary columns are
/// in clear (to choose blocks without decrypting) and bound into the seal.
struct StoredBlock {
    static let columns = ["tenant_id", "channel_id", "start_ms", "end_ms", "block_seq", "sample_count", "key_id", "payload"]

    let channel: UInt64
    let summary: BlockSummary
    /// Order of the blocks of a channel-day: on equal times the higher sequence wins.
    let sequence: Int64
    let keyID: Int32
    let payload: [UInt8]

    /// Seals `series` under the tenant's active key.
    init(
        sealing series: ChannelSeries, channel: UInt64, sequence: Int64, keys: inout BlockKeys, _ tx: borrowing TenantTransaction
    ) throws {
        let (keyID, context) = try keys.active(tx)
        self.channel = channel
        self.sequence = sequence
        self.keyID = keyID
        (payload, summary) = try SealedBlock.seal(series, tenantID: keys.tenantBytes, channelID: channel, context: context)
    }

    /// A row read with `columns`' order from `channel_id` on.
    init(row: PGRow) throws {
        channel = UInt64(bitPattern: try row.int64(0))
        summary = try BlockSummary(sampleCount: Int(try row.int64(4)), firstMs: try row.int64(1), lastMs: try row.int64(2))
        sequence = try row.int64(3)
        keyID = Int32(try row.int64(5))
        payload = try row.bytes(6)
    }

    /// The query's select list matching `init(row:)`.
    static let selectList = "channel_id, start_ms, end_ms, block_seq, sample_count, key_id, payload"

    func open(_ keys: inout BlockKeys, _ tx: borrowing TenantTransaction) throws -> ChannelSeries {
        let binding = try BlockBinding(tenantID: keys.tenantBytes, channelID: channel, summary: summary)
        return try SealedBlock.open(payload, binding: binding, context: keys.context(keyID, tx))
    }

    func write(_ writer: inout BinaryCopyWriter, tenant: TenantID) throws {
        try writer.beginRow()
        writer.append(.uuid(tenant.uuid))
        writer.append(Int64(bitPattern: channel))
        writer.append(summary.firstMs)
        writer.append(summary.lastMs)
        writer.append(sequence)
        writer.append(Int32(summary.sampleCount))
        writer.append(keyID)
        writer.append(payload)
    }
}

/// The tenant's data keys as AEAD contexts, unwrapped once per transaction.
struct BlockKeys {
    let tenantBytes: [UInt8]
    private let keyring: TenantKeyring
    private var contexts: [Int32: AEAD.Context] = [:]
    private var activeID: Int32?

    init(_ keyring: TenantKeyring, tenant: TenantID) {
        self.keyring = keyring
        self.tenantBytes = tenant.bytes
    }

    mutating func active(_ tx: borrowing TenantTransaction) throws -> (Int32, AEAD.Context) {
        let id = try activeID ?? keyring.ensureKey(tx)
        activeID = id
        return (id, try context(id, tx))
    }

    mutating func context(_ keyID: Int32, _ tx: borrowing TenantTransaction) throws -> AEAD.Context {
        if let context = contexts[keyID] { return context }
        let context = try AEAD.Context(key: keyring.key(tx, keyID))
        contexts[keyID] = context
        return context
    }
}
