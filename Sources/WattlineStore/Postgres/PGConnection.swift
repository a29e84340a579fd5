import CLibPQ

/// One libpq connection. Every call blocks, so a connection lives on one of the pool's own
/// threads and never on an event loop; it is not `Sendable` on purpose.
///
/// Statements run through the extended protocol with binary parameters and binary results;
/// `query` prepares each distinct SQL text once per connection and reuses it.
public final class PGConnection {
    private let connection: OpaquePointer
    private var prepared: [String: String] = [:]

    /// Opens a connection with a libpq connection string or URI, passed through untouched (so
    /// multi-host failover lists, `sslmode=verify-full`, SCRAM and service files all work).
    public init(conninfo: String) throws(PGError) {
        guard let connection = PQconnectdb(conninfo) else {
            throw PGError(.unavailable, "libpq could not allocate a connection")
        }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(connection))
            PQfinish(connection)
            throw PGError(.unavailable, "cannot connect to PostgreSQL: \(message)")
        }
        PQsetNoticeProcessor(connection, { _, _ in }, nil)  // notices are not errors; keep stderr clean
        self.connection = connection
    }

    deinit { PQfinish(connection) }

    /// Whether the connection is still usable.
    public var isHealthy: Bool { PQstatus(connection) == CONNECTION_OK }

    /// The server's version number, e.g. 150018.
    public var serverVersion: Int { Int(PQserverVersion(connection)) }

    /// Runs one or more SQL statements without parameters (simple protocol, text results);
    /// for DDL, migrations and transaction control.
    public func execute(_ sql: String) throws(PGError) {
        let result = PQexec(connection, sql)
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs one statement with binary parameters and returns its rows.
    @discardableResult
    public func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        let name = try statementName(for: sql, parameters)
        let encoded = parameters.map(\.binary)
        let result = withCParameters(encoded) { values, lengths, formats in
            PQexecPrepared(connection, name, Int32(parameters.count), values, lengths, formats, 1)
        }
        do {
            try check(result)
        } catch {
            PQclear(result)
            throw error
        }
        return PGResult(result!)
    }

    /// The name of the prepared statement for `sql` with these parameter types, preparing it once.
    private func statementName(for sql: String, _ parameters: [PGValue]) throws(PGError) -> String {
        let types = parameters.map(\.oid)
        let key = types.map(String.init).joined(separator: ",") + "|" + sql
        if let name = prepared[key] { return name }
        let name = "wl\(prepared.count)"
        let result = types.withUnsafeBufferPointer { oids in
            PQprepare(connection, name, sql, Int32(types.count), oids.baseAddress)
        }
        defer { PQclear(result) }
        try check(result)
        prepared[key] = name
        return name
    }

    /// Streams rows into `table` with binary `COPY FROM STDIN`; returns the number of rows.
    /// `write` is called with a sink to fill; the sink flushes to libpq in large chunks.
    @discardableResult
    public func copyIn(_ table: String, columns: [String], _ write: (inout BinaryCopyWriter) throws -> Void) throws -> Int {
        let sql = "COPY \(table) (\(columns.joined(separator: ", "))) FROM STDIN (FORMAT binary)"
        let start = PQexec(connection, sql)
        defer { PQclear(start) }
        guard PQresultStatus(start) == PGRES_COPY_IN else {
            try check(start)
            throw PGError(.sql, "COPY did not start")
        }
        var writer = BinaryCopyWriter(columnCount: columns.count) { [connection] chunk throws(PGError) in
            let status = PQputCopyData(connection, chunk.baseAddress?.assumingMemoryBound(to: CChar.self), Int32(chunk.count))
            guard status == 1 else { throw PGError(.connectionLost, "COPY data: \(Self.trimmed(PQerrorMessage(connection)))") }
        }
        do {
            try write(&writer)
            try writer.finish()
        } catch {
            PQputCopyEnd(connection, "aborted by the client")
            drainResults()
            throw error
        }
        guard PQputCopyEnd(connection, nil) == 1 else {
            throw PGError(.connectionLost, "COPY end: \(Self.trimmed(PQerrorMessage(connection)))")
        }
        let result = PQgetResult(connection)
        defer { PQclear(result); drainResults() }
        try check(result)
        return Int(String(cString: PQcmdTuples(result))) ?? writer.rowCount
    }

    private func drainResults() {
        while let extra = PQgetResult(connection) { PQclear(extra) }
    }

    /// Throws the `PGError` a result carries, if any.
    private func check(_ result: OpaquePointer?) throws(PGError) {
        guard let result else {
            throw PGError(isHealthy ? .sql : .connectionLost, Self.trimmed(PQerrorMessage(connection)))
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_COPY_IN, PGRES_SINGLE_TUPLE:
            return
        default:
            let state = PQresultErrorField(result, Diagnostic.sqlState).map { String(cString: $0) }
            let primary = PQresultErrorField(result, Diagnostic.primary).map { String(cString: $0) }
            let detail = PQresultErrorField(result, Diagnostic.detail).map { String(cString: $0) }
            let message = primary ?? Self.trimmed(PQresultErrorMessage(result))
            if !isHealthy { prepared.removeAll() }
            let code: PGError.Code = isHealthy ? state.map(PGError.code(forSQLState:)) ?? .sql : .connectionLost
            throw PGError(code, message.isEmpty ? "connection lost" : message, sqlState: state, detail: detail)
        }
    }

    static func trimmed(_ message: UnsafePointer<CChar>?) -> String {
        guard let message else { return "" }
        return String(cString: message).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Calls `body` with libpq's parallel parameter arrays for binary values (nil = NULL).
private func withCParameters<R>(
    _ values: [[UInt8]?],
    _ body: (UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<Int32>?, UnsafePointer<Int32>?) -> R
) -> R {
    let lengths = values.map { Int32($0?.count ?? 0) }
    let formats = [Int32](repeating: 1, count: values.count)
    let storage = values.map { value -> UnsafeMutablePointer<CChar>? in
        guard let value else { return nil }
        let pointer = UnsafeMutablePointer<CChar>.allocate(capacity: max(value.count, 1))
        value.withUnsafeBytes { UnsafeMutableRawPointer(pointer).copyMemory(from: $0.baseAddress ?? UnsafeRawPointer(pointer), byteCount: value.count) }
        return pointer
    }
    defer { storage.forEach { $0?.deallocate() } }
    let pointers = storage.map { UnsafePointer($0) }
    return pointers.withUnsafeBufferPointer { p in
        lengths.withUnsafeBufferPointer { l in
            formats.withUnsafeBufferPointer { f in body(p.baseAddress, l.baseAddress, f.baseAddress) }
        }
    }
}

/// libpq's PG_DIAG_* field codes are character macros, which Swift does not import.
private enum Diagnostic {
    static let sqlState = Int32(UInt8(ascii: "C"))
    static let primary = Int32(UInt8(ascii: "M"))
    static let detail = Int32(UInt8(ascii: "D"))
}
