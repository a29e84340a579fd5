/// Encodes rows in PostgreSQL's binary COPY format and hands them on in large chunks.
///
/// Fields are stored straight into one reusable buffer (big-endian, unaligned stores), and each
/// full chunk is passed to `flush` without copying: the hot loop of bulk ingest.
public struct BinaryCopyWriter: ~Copyable {
    private static let signature: [UInt8] = [0x50, 0x47, 0x43, 0x4F, 0x50, 0x59, 0x0A, 0xFF, 0x0D, 0x0A, 0x00]
    private static let chunkSize = 64 << 10

    private let columnCount: Int
    private let flush: (UnsafeRawBufferPointer) throws(PGError) -> Void
    private var storage: UnsafeMutableRawPointer
    private var capacity: Int
    private var count = 0
    private var fieldsInRow = 0
    public private(set) var rowCount = 0

    /// A writer that hands each encoded chunk to `flush` (libpq, or a file for `psql \copy`).
    public init(columnCount: Int, flush: @escaping (UnsafeRawBufferPointer) throws(PGError) -> Void) {
        self.columnCount = columnCount
        self.flush = flush
        self.capacity = Self.chunkSize + 64 << 10
        self.storage = .allocate(byteCount: capacity, alignment: 16)
        for byte in Self.signature { put(byte) }
        put(Int32(0))  // flags
        put(Int32(0))  // header extension length
    }

    deinit { storage.deallocate() }

    /// Starts a row; then call the `append` methods once per column, in order.
    public mutating func beginRow() throws(PGError) {
        guard fieldsInRow == 0 || fieldsInRow == columnCount else {
            throw PGError(.sql, "COPY row \(rowCount) has \(fieldsInRow) of \(columnCount) fields")
        }
        if count >= Self.chunkSize { try flushBuffer() }
        put(Int16(columnCount))
        fieldsInRow = 0
        rowCount += 1
    }

    public mutating func append(_ value: Int64) { field(8); put(value) }
    public mutating func append(_ value: Int32) { field(4); put(value) }
    public mutating func append(_ value: Double) { field(8); put(value.bitPattern) }
    public mutating func appendTimestamp(ms: Int64) { append(PGTime.microsecondsSince2000(fromMs: ms)) }

    public mutating func append(_ bytes: [UInt8]) {
        field(bytes.count)
        reserve(bytes.count)
        bytes.withUnsafeBytes { source in
            if let base = source.baseAddress { (storage + count).copyMemory(from: base, byteCount: source.count) }
        }
        count += bytes.count
    }

    public mutating func appendNull() {
        put(Int32(-1))
        fieldsInRow += 1
    }

    /// Any other value, in its binary encoding (`PGValue`'s type must match the column's).
    public mutating func append(_ value: PGValue) {
        if let bytes = value.binary { append(bytes) } else { appendNull() }
    }

    /// Writes the trailer and flushes what is left; call once after the last row.
    public mutating func finish() throws(PGError) {
        guard fieldsInRow == 0 || fieldsInRow == columnCount else {
            throw PGError(.sql, "COPY row \(rowCount) has \(fieldsInRow) of \(columnCount) fields")
        }
        put(Int16(-1))
        try flushBuffer()
    }

    private mutating func field(_ length: Int) {
        put(Int32(length))
        fieldsInRow += 1
    }

    private mutating func put<T: FixedWidthInteger>(_ value: T) {
        reserve(MemoryLayout<T>.size)
        storage.storeBytes(of: value.bigEndian, toByteOffset: count, as: T.self)
        count += MemoryLayout<T>.size
    }

    /// Grows the buffer for one oversized field (rows are flushed at chunk boundaries).
    private mutating func reserve(_ bytes: Int) {
        guard count + bytes > capacity else { return }
        let grown = UnsafeMutableRawPointer.allocate(byteCount: (count + bytes) * 2, alignment: 16)
        grown.copyMemory(from: storage, byteCount: count)
        storage.deallocate()
        storage = grown
        capacity = (count + bytes) * 2
    }

    private mutating func flushBuffer() throws(PGError) {
        try flush(UnsafeRawBufferPointer(start: storage, count: count))
        count = 0
    }
}
