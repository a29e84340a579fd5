/// Quality flags of a block: a `SparseColumn` with default 0 (good), so the usual all-good
/// block costs one byte and a rare flag a few. Each decoded flag must fit in UInt32.
enum QualityColumn {
    static func encode(_ qualities: [UInt32], into writer: inout ByteWriter) {
        SparseColumn.encode(qualities.map { Int64($0) }, default: 0, into: &writer)
    }

    static func decode(_ count: Int, from reader: inout ByteReader) throws -> [UInt32] {
        try SparseColumn.decode(count, default: 0, from: &reader, "quality").map { flag in
            guard let bits = UInt32(exactly: flag) else { throw TelemetryBlockError.malformed("quality flag \(flag) is out of range") }
            return bits
        }
    }
}
