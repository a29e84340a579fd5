import Foundation

/// A query parameter, sent in PostgreSQL's binary format with its type.
public enum PGValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int16(Int16)
    case int32(Int32)
    case int64(Int64)
    case float64(Double)
    case text(String)
    case bytea([UInt8])
    case uuid(UUID)
    /// `timestamptz`, as milliseconds since the UNIX epoch.
    case timestampMs(Int64)
    /// `text[]`.
    case textArray([String])

    /// The PostgreSQL type OID (0 lets the server infer the type of a NULL).
    var oid: UInt32 {
        switch self {
        case .null: 0
        case .bool: PGType.bool
        case .int16: PGType.int2
        case .int32: PGType.int4
        case .int64: PGType.int8
        case .float64: PGType.float8
        case .text: PGType.text
        case .bytea: PGType.bytea
        case .uuid: PGType.uuid
        case .timestampMs: PGType.timestamptz
        case .textArray: PGType.textArray
        }
    }

    /// The binary encoding, or nil for NULL.
    var binary: [UInt8]? {
        switch self {
        case .null: nil
        case .bool(let value): [value ? 1 : 0]
        case .int16(let value): value.bigEndianBytes
        case .int32(let value): value.bigEndianBytes
        case .int64(let value): value.bigEndianBytes
        case .float64(let value): value.bitPattern.bigEndianBytes
        case .text(let value): Array(value.utf8)
        case .bytea(let value): value
        case .uuid(let value): withUnsafeBytes(of: value.uuid) { Array($0) }
        case .timestampMs(let ms): PGTime.microsecondsSince2000(fromMs: ms).bigEndianBytes
        case .textArray(let values): PGArray.encodeText(values)
        }
    }
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int64) { self = .int64(value) }
    public init(nilLiteral: ()) { self = .null }
}

/// Type OIDs from PostgreSQL's pg_type catalogue (stable across versions).
enum PGType {
    static let bool: UInt32 = 16
    static let bytea: UInt32 = 17
    static let int8: UInt32 = 20
    static let int2: UInt32 = 21
    static let int4: UInt32 = 23
    static let text: UInt32 = 25
    static let name: UInt32 = 19
    static let oid: UInt32 = 26
    static let float4: UInt32 = 700
    static let float8: UInt32 = 701
    static let textArray: UInt32 = 1009
    static let varchar: UInt32 = 1043
    static let timestamptz: UInt32 = 1184
    static let uuid: UInt32 = 2950
    static let jsonb: UInt32 = 3802
}

/// PostgreSQL timestamps count microseconds from 2000-01-01 00:00 UTC.
enum PGTime {
    static let epochOffsetMs: Int64 = 946_684_800_000
    static func microsecondsSince2000(fromMs ms: Int64) -> Int64 { (ms &- epochOffsetMs) &* 1_000 }
    static func ms(fromMicrosecondsSince2000 us: Int64) -> Int64 {
        (us >= 0 ? us / 1_000 : (us - 999) / 1_000) &+ epochOffsetMs
    }
}

/// The binary array format for one-dimensional `text[]`.
enum PGArray {
    static func encodeText(_ values: [String]) -> [UInt8] {
        var out: [UInt8] = []
        out += Int32(1).bigEndianBytes            // dimensions
        out += Int32(0).bigEndianBytes            // has nulls
        out += PGType.text.bigEndianBytes         // element type
        out += Int32(values.count).bigEndianBytes // length
        out += Int32(1).bigEndianBytes            // lower bound
        for value in values {
            let bytes = Array(value.utf8)
            out += Int32(bytes.count).bigEndianBytes
            out += bytes
        }
        return out
    }
}

extension FixedWidthInteger {
    var bigEndianBytes: [UInt8] { withUnsafeBytes(of: bigEndian) { Array($0) } }
}
