import CLibPQ
import Foundation

/// The rows of one statement, in binary format; owns the libpq result and clears it in `deinit`.
/// Sendable: libpq results are read-only after creation and may be passed between threads.
public final class PGResult: @unchecked Sendable {
    private let result: OpaquePointer
    /// Number of rows returned.
    public let count: Int
    /// Number of rows a write touched (`INSERT`, `UPDATE`, `DELETE`, `COPY`).
    public let affectedRows: Int

    init(_ result: OpaquePointer) {
        self.result = result
        self.count = Int(PQntuples(result))
        self.affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    deinit { PQclear(result) }

    /// Row `index`.
    public subscript(index: Int) -> PGRow { PGRow(result: self, index: index) }

    /// All rows.
    public var rows: [PGRow] { (0..<count).map { self[$0] } }

    /// The first row, or nil when there are none.
    public var first: PGRow? { count > 0 ? self[0] : nil }

    fileprivate func column(named name: String) throws(PGError) -> Int32 {
        let index = PQfnumber(result, name)
        guard index >= 0 else { throw PGError(.decoding, "no column \"\(name)\" in the result") }
        return index
    }

    fileprivate func bytes(row: Int, column: Int32, expecting oids: [UInt32]) throws(PGError) -> UnsafeRawBufferPointer? {
        guard column >= 0, column < PQnfields(result), row < count else {
            throw PGError(.decoding, "column \(column) or row \(row) out of range")
        }
        let type = PQftype(result, column)
        guard oids.contains(type) else {
            throw PGError(.decoding, "column \(String(cString: PQfname(result, column))) has type oid \(type), expected \(oids)")
        }
        guard PQgetisnull(result, Int32(row), column) == 0 else { return nil }
        let length = Int(PQgetlength(result, Int32(row), column))
        let value = PQgetvalue(result, Int32(row), column)!
        return UnsafeRawBufferPointer(start: value, count: length)
    }
}

/// One row of a `PGResult`: typed accessors by column index or name. A NULL read through a
/// non-optional accessor, or a column whose type does not match, throws `PGError.decoding`.
public struct PGRow: Sendable {
    let result: PGResult
    let index: Int

    /// Any integer column (`int2`, `int4`, `int8`).
    public func optionalInt64(_ column: Int) throws(PGError) -> Int64? {
        guard let raw = try raw(column, [PGType.int8, PGType.int4, PGType.int2]) else { return nil }
        switch raw.count {
        case 8: return Int64(bitPattern: raw.loadBigEndian(UInt64.self))
        case 4: return Int64(Int32(bitPattern: raw.loadBigEndian(UInt32.self)))
        case 2: return Int64(Int16(bitPattern: raw.loadBigEndian(UInt16.self)))
        default: throw PGError(.decoding, "column \(column): integer of \(raw.count) bytes")
        }
    }

    public func optionalDouble(_ column: Int) throws(PGError) -> Double? {
        try raw(column, [PGType.float8], size: 8).map { Double(bitPattern: $0.loadBigEndian(UInt64.self)) }
    }

    public func optionalBool(_ column: Int) throws(PGError) -> Bool? {
        try raw(column, [PGType.bool], size: 1).map { $0[0] != 0 }
    }

    public func optionalString(_ column: Int) throws(PGError) -> String? {
        try raw(column, [PGType.text, PGType.varchar, PGType.name]).map { String(decoding: $0, as: UTF8.self) }
    }

    public func optionalBytes(_ column: Int) throws(PGError) -> [UInt8]? {
        try raw(column, [PGType.bytea]).map { Array($0) }
    }

    public func optionalUUID(_ column: Int) throws(PGError) -> UUID? {
        try raw(column, [PGType.uuid], size: 16).map { raw in
            UUID(uuid: (raw[0], raw[1], raw[2], raw[3], raw[4], raw[5], raw[6], raw[7],
                        raw[8], raw[9], raw[10], raw[11], raw[12], raw[13], raw[14], raw[15]))
        }
    }

    /// A `timestamptz` as milliseconds since the UNIX epoch.
    public func optionalTimestampMs(_ column: Int) throws(PGError) -> Int64? {
        try raw(column, [PGType.timestamptz], size: 8).map {
            PGTime.ms(fromMicrosecondsSince2000: Int64(bitPattern: $0.loadBigEndian(UInt64.self)))
        }
    }

    public func int64(_ column: Int) throws(PGError) -> Int64 { try required(column, optionalInt64(column)) }
    public func double(_ column: Int) throws(PGError) -> Double { try required(column, optionalDouble(column)) }
    public func bool(_ column: Int) throws(PGError) -> Bool { try required(column, optionalBool(column)) }
    public func string(_ column: Int) throws(PGError) -> String { try required(column, optionalString(column)) }
    public func bytes(_ column: Int) throws(PGError) -> [UInt8] { try required(column, optionalBytes(column)) }
    public func uuid(_ column: Int) throws(PGError) -> UUID { try required(column, optionalUUID(column)) }
    public func timestampMs(_ column: Int) throws(PGError) -> Int64 { try required(column, optionalTimestampMs(column)) }

    /// The index of the column called `name`.
    public func column(_ name: String) throws(PGError) -> Int { Int(try result.column(named: name)) }

    private func required<T>(_ column: Int, _ value: T?) throws(PGError) -> T {
        guard let value else { throw PGError(.decoding, "column \(column) is NULL") }
        return value
    }

    private func raw(_ column: Int, _ oids: [UInt32], size: Int? = nil) throws(PGError) -> UnsafeRawBufferPointer? {
        guard let raw = try result.bytes(row: index, column: Int32(column), expecting: oids) else { return nil }
        if let size, raw.count != size {
            throw PGError(.decoding, "column \(column): \(raw.count) bytes, expected \(size)")
        }
        return raw
    }
}

extension UnsafeRawBufferPointer {
    func loadBigEndian<T: FixedWidthInteger>(_ type: T.Type) -> T {
        T(bigEndian: loadUnaligned(as: T.self))
    }
}
