import WattlineCrypto

/// A block at rest: `version (1 byte, 0x01) | AEAD sealed value (version, nonce, ciphertext, tag)`
/// under the tenant's data key, associated data from `BlockBinding`. 30 bytes of overhead per
/// block. Which data key sealed it (its key id) is kept by the storage row, like the summary.
public enum SealedBlock {
    public static let version: UInt8 = 0x01
    public static let overhead = 1 + AEAD.overhead
    /// Larger than any block `ChannelSeries.maxSampleCount` samples encode to (raw worst case
    /// ~30 bytes a sample); checked before decrypting, so hostile input cannot make us allocate more.
    public static let maxByteCount = 8 << 20

    /// Encodes and seals `series` for `tenantID`/`channelID`; returns the bytes to store and the
    /// summary to store beside them.
    public static func seal(
        _ series: ChannelSeries, tenantID: [UInt8], channelID: UInt64, context: AEAD.Context
    ) throws -> (bytes: [UInt8], summary: BlockSummary) {
        let binding = try BlockBinding(tenantID: tenantID, channelID: channelID, summary: series.summary)
        return (try seal(plaintext: BlockCodec.encode(series), binding: binding, context: context), binding.summary)
    }

    /// Seals an already encoded plaintext (`BlockCodec.encode`) of `binding.summary`.
    public static func seal(plaintext: [UInt8], binding: BlockBinding, context: AEAD.Context) throws -> [UInt8] {
        var bytes = [version]
        bytes.reserveCapacity(overhead + plaintext.count)
        bytes.append(contentsOf: try context.seal(plaintext, associatedData: binding.associatedData))
        return bytes
    }

    /// Opens and decodes; `.authenticationFailed` when key, tenant, channel or summary differ
    /// from sealing time, `.malformed` / `.unsupportedVersion` for bytes that are not a block.
    public static func open(_ sealed: [UInt8], binding: BlockBinding, context: AEAD.Context) throws -> ChannelSeries {
        try BlockCodec.decode(openPlaintext(sealed, binding: binding, context: context), summary: binding.summary)
    }

    /// The decrypted plaintext only (for measuring decode separately).
    public static func openPlaintext(_ sealed: [UInt8], binding: BlockBinding, context: AEAD.Context) throws -> [UInt8] {
        guard sealed.count >= overhead, sealed.count <= maxByteCount else {
            throw TelemetryBlockError.malformed("sealed block of \(sealed.count) bytes outside \(overhead)...\(maxByteCount)")
        }
        guard sealed[0] == version else {
            throw TelemetryBlockError(.unsupportedVersion, "sealed block version \(sealed[0]) is not \(version)")
        }
        do {
            return try context.open(Array(sealed[1...]), associatedData: binding.associatedData)
        } catch let error as CryptoError where error.code == .authenticationFailed {
            throw TelemetryBlockError(.authenticationFailed, "the block does not open with this key, tenant, channel and range")
        } catch let error as CryptoError {
            throw TelemetryBlockError.malformed("sealed block: \(error.message)")
        }
    }
}
