/// A block's plaintext, before sealing (docs/telemetry.md, "Block format"):
///
///     codec version (1 byte, 0x01)
///     varint length of the timestamp column, TimestampColumn
///     varint length of the value column, ValueColumn
///     QualityColumn (to the end)
///
/// Sample count, first and last time are not repeated here: they travel in the `BlockSummary`
/// the storage row keeps and sealing binds. Length prefixes let a reader that needs only times
/// (or times and values) stop early.
public enum BlockCodec {
    public static let version: UInt8 = 0x01

    /// Byte counts of a plaintext's parts, for reporting.
    public struct Layout: Sendable, Hashable {
        public var header: Int
        public var timestamps: Int
        public var values: Int
        public var qualities: Int
        public var total: Int { header + timestamps + values + qualities }

        public init(header: Int = 0, timestamps: Int = 0, values: Int = 0, qualities: Int = 0) {
            (self.header, self.timestamps, self.values, self.qualities) = (header, timestamps, values, qualities)
        }
    }

    /// Same series, same bytes: encoding is deterministic.
    public static func encode(_ series: ChannelSeries) -> [UInt8] { encodeWithLayout(series).bytes }

    public static func encodeWithLayout(_ series: ChannelSeries) -> (bytes: [UInt8], layout: Layout) {
        var timestamps = ByteWriter()
        TimestampColumn.encode(series.timesMs, into: &timestamps)
        var values = ByteWriter()
        ValueColumn.encode(series.values, into: &values)
        var qualities = ByteWriter()
        QualityColumn.encode(series.qualities, into: &qualities)

        var writer = ByteWriter(capacity: 8 + timestamps.bytes.count + values.bytes.count + qualities.bytes.count)
        writer.byte(version)
        writer.varint(UInt64(timestamps.bytes.count))
        writer.append(timestamps.bytes)
        writer.varint(UInt64(values.bytes.count))
        let header = 1 + varintByteCount(UInt64(timestamps.bytes.count)) + varintByteCount(UInt64(values.bytes.count))
        writer.append(values.bytes)
        writer.append(qualities.bytes)
        let layout = Layout(
            header: header, timestamps: timestamps.bytes.count, values: values.bytes.count, qualities: qualities.bytes.count)
        return (writer.bytes, layout)
    }

    /// Decodes a plaintext that must hold exactly `summary.sampleCount` samples from
    /// `summary.firstMs` to `summary.lastMs`. Throws `.malformed` or `.unsupportedVersion` for
    /// anything else, including trailing bytes; never traps, and allocates in proportion to the
    /// (bounded) sample count only.
    public static func decode(_ bytes: [UInt8], summary: BlockSummary) throws -> ChannelSeries {
        var reader = ByteReader(bytes)
        let found = try reader.byte("codec version")
        guard found == version else {
            throw TelemetryBlockError(.unsupportedVersion, "block codec version \(found) is not \(version)")
        }
        let timesLength = try reader.length("timestamp column length")
        var timesReader = ByteReader(bytes, from: reader.offset, to: reader.offset + timesLength)
        let times = try TimestampColumn.decode(summary, from: &timesReader)
        try expectEnd(timesReader, "timestamp column")
        reader.skip(timesLength)

        let valuesLength = try reader.length("value column length")
        var valuesReader = ByteReader(bytes, from: reader.offset, to: reader.offset + valuesLength)
        let values = try ValueColumn.decode(summary.sampleCount, from: &valuesReader)
        try expectEnd(valuesReader, "value column")
        reader.skip(valuesLength)

        let qualities = try QualityColumn.decode(summary.sampleCount, from: &reader)
        try expectEnd(reader, "quality column")
        return ChannelSeries(unchecked: times, values, qualities)
    }

    private static func expectEnd(_ reader: ByteReader, _ what: String) throws {
        guard reader.isAtEnd else { throw TelemetryBlockError.malformed("\(reader.remaining) unexpected bytes after the \(what)") }
    }
}
