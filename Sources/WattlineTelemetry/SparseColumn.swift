/// An Int64 column that nearly always holds one default value (quality 0, grid step 1), where an
/// exception (a flag, an outage) would otherwise widen a whole miniblock:
///
///     mode 0: every value is the default
///     mode 1: exceptions; varint m (1...n), IntegerColumn of their m indexes (strictly
///             increasing), IntegerColumn of their m values (each differs from the default)
///     mode 2: dense; IntegerColumn of all n values
///
/// The encoder writes mode 0 when it can, mode 1 when at most one value in 8 is an exception, else
/// the smaller of modes 1 and 2.
enum SparseColumn {
    static func encode(_ values: [Int64], default defaultValue: Int64, into writer: inout ByteWriter) {
        let exceptions = values.indices.filter { values[$0] != defaultValue }
        guard !exceptions.isEmpty else {
            writer.byte(0)
            return
        }
        var sparse = ByteWriter()
        sparse.byte(1)
        sparse.varint(UInt64(exceptions.count))
        IntegerColumn.encode(exceptions.map { Int64($0) }, into: &sparse)
        IntegerColumn.encode(exceptions.map { values[$0] }, into: &sparse)
        // Dense can only win when exceptions are common; skip trying it otherwise.
        guard exceptions.count * 8 > values.count else {
            writer.append(sparse.bytes)
            return
        }
        var dense = ByteWriter()
        dense.byte(2)
        IntegerColumn.encode(values, into: &dense)
        writer.append(sparse.bytes.count <= dense.bytes.count ? sparse.bytes : dense.bytes)
    }

    /// Reads exactly `count` values (the caller bounds `count`), or throws `.malformed`.
    static func decode(_ count: Int, default defaultValue: Int64, from reader: inout ByteReader, _ what: String) throws -> [Int64] {
        switch try reader.byte("\(what) mode") {
        case 0:
            return [Int64](repeating: defaultValue, count: count)
        case 1:
            let exceptionCount = try reader.count("\(what) exception count", atMost: count)
            guard exceptionCount > 0 else { throw TelemetryBlockError.malformed("\(what) exception list is empty") }
            let indexes = try IntegerColumn.decode(exceptionCount, from: &reader, "\(what) exception index")
            let exceptions = try IntegerColumn.decode(exceptionCount, from: &reader, "\(what) exception")
            var values = [Int64](repeating: defaultValue, count: count)
            var previous: Int64 = -1
            for (index, value) in zip(indexes, exceptions) {
                guard index > previous, index < Int64(count) else {
                    throw TelemetryBlockError.malformed("\(what) exception indexes must increase within 0..<\(count)")
                }
                guard value != defaultValue else { throw TelemetryBlockError.malformed("\(what) exception equals the default") }
                values[Int(index)] = value
                previous = index
            }
            return values
        case 2:
            return try IntegerColumn.decode(count, from: &reader, what)
        case let mode:
            throw TelemetryBlockError.malformed("\(what) mode \(mode) is unknown")
        }
    }
}
