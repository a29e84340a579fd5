/// Encodes rows in PostgreSQL's binary COPY format and hands them to libpq in large chunks.
public struct BinaryCopyWriter {
    private static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    private static let chunkSize = 256 << 10

    private let columnCount: Int
    private let flush: ([UInt8]) throws(PGError) -> Void
    private var buffer: [UInt8] = []
    private var fieldsInRow = 0
    public private(set) var rowCount = 0

    init(columnCount: Int, flush: @escaping ([UInt8]) throws(PGError) -> Void) {
        self.columnCount = columnCount
        self.flush = flush
        buffer.reserveCapacity(Self.chunkSize + 4096)
        buffer += Self.signature
        buffer += Int32(0).bigEndianBytes  // flags
        buffer += Int32(0).bigEndianBytes  // header extension length
    }

    /// Starts a row; then call the `append` methods once per column, in order.
    public mutating func beginRow() throws(PGError) {
        guard fieldsInRow == 0 || fieldsInRow == columnCount else {
            throw PGError(.sql, "COPY row \(rowCount) has \(fieldsInRow) of \(columnCount) fields")
        }
        if buffer.count >= Self.chunkSize {
            try flush(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
        appendBigEndian(Int16(columnCount))
        fieldsInRow = 0
        rowCount += 1
    }

    public mutating func append(_ value: Int64) { field(8) { $0.appendBigEndian(value) } }
    public mutating func append(_ value: Int32) { field(4) { $0.appendBigEndian(value) } }
    public mutating func append(_ value: Double) { field(8) { $0.appendBigEndian(value.bitPattern) } }
    public mutating func append(_ value: [UInt8]) { field(value.count) { $0.buffer += value } }
    public mutating func appendTimestamp(ms: Int64) { append(PGTime.microsecondsSince2000(fromMs: ms)) }
    public mutating func appendNull() {
        appendBigEndian(Int32(-1))
        fieldsInRow += 1
    }
    /// Any other value, in its binary encoding (`PGValue`'s type must match the column's).
    public mutating func append(_ value: PGValue) {
        if let bytes = value.binary { append(bytes) } else { appendNull() }
    }

    private mutating func field(_ length: Int, _ body: (inout Self) -> Void) {
        appendBigEndian(Int32(length))
        body(&self)
        fieldsInRow += 1
    }

    private mutating func appendBigEndian<T: FixedWidthInteger>(_ value: T) {
        withUnsafeBytes(of: value.bigEndian) { buffer.append(contentsOf: $0) }
    }

    mutating func finish() throws(PGError) {
        guard fieldsInRow == 0 || fieldsInRow == columnCount else {
            throw PGError(.sql, "COPY row \(rowCount) has \(fieldsInRow) of \(columnCount) fields")
        }
        appendBigEndian(Int16(-1))
        try flush(buffer)
        buffer.removeAll()
    }
}
