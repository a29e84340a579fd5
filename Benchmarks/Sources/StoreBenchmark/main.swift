// The store's two performance targets, each against its reference in the same run:
//   1. binary COPY of N telemetry rows through WattlineStore vs `psql \copy` of the same rows;
//   2. a trivial prepared query round trip through the ConnectionPool vs raw libpq.
// It uses the embedded cluster of the project at --root (a scratch database, dropped at the end).
//
//   StoreBenchmark --root PROJECT [--rows 5000000] [--data gen_telemetry.bin] [--queries 20000]
import CLibPQRaw
import Foundation
import WattlineStore

var root = FileManager.default.currentDirectoryPath
var rowCount = 5_000_000
var dataPath: String?
var queryCount = 20_000
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--root": root = arguments.popFirst() ?? root
    case "--rows": rowCount = Int(arguments.popFirst() ?? "") ?? rowCount
    case "--data": dataPath = arguments.popFirst()
    case "--queries": queryCount = Int(arguments.popFirst() ?? "") ?? queryCount
    default: fatalError("usage: StoreBenchmark --root PROJECT [--rows N] [--data FILE] [--queries N]")
    }
}

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

@MainActor func asyncSeconds(_ body: () async throws -> Void) async rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try await body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

// MARK: data

struct Row { var channel: Int64; var timeMs: Int64; var value: Double }

func loadRows(count rowCount: Int, from dataPath: String?) throws -> (rows: [Row], source: String) {
    if let dataPath {
        let data = try Data(contentsOf: URL(fileURLWithPath: dataPath))
        let count = min(rowCount, data.count / 32)
        let rows = data.withUnsafeBytes { raw in
            (0..<count).map { index in
                Row(channel: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 32 + 8, as: Int64.self)),
                    timeMs: Int64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 32 + 16, as: Int64.self)),
                    value: Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: index * 32 + 24, as: UInt64.self))))
            }
        }
        return (rows, dataPath)
    }
    var rows: [Row] = []
    rows.reserveCapacity(rowCount)
    for index in 0..<rowCount {
        let poll = Int64(index / 56)
        let channel = Int64(10_000 + index % 56)
        rows.append(Row(channel: channel, timeMs: 1_767_225_600_000 + poll * 60_000, value: Double(index % 10_000) / 100))
    }
    return (rows, "synthetic")
}

func write(_ rows: [Row], into writer: inout BinaryCopyWriter) throws {
    for row in rows {
        try writer.beginRow()
        writer.append(row.channel)
        writer.appendTimestamp(ms: row.timeMs)
        writer.append(row.value)
    }
}

// MARK: setup

let dev = DevDatabase(projectRoot: root, database: "wattline_bench")
try dev.cluster.start()
let server = try PGConnection(conninfo: dev.cluster.conninfo(database: "postgres"))
try server.execute("DROP DATABASE IF EXISTS wattline_bench WITH (FORCE)")
try server.execute("CREATE DATABASE wattline_bench")
defer { _ = try? server.execute("DROP DATABASE IF EXISTS wattline_bench WITH (FORCE)") }
let conninfo = dev.adminConninfo
let connection = try PGConnection(conninfo: conninfo)
try connection.execute("CREATE TABLE bench_rows (channel_id bigint NOT NULL, ts timestamptz NOT NULL, value double precision NOT NULL)")

let (rows, source) = try loadRows(count: rowCount, from: dataPath)
print("== store: binary COPY of \(rows.count) telemetry rows (\(source))")

// psql reads a binary COPY file made by the same encoder.
let copyFile = NSTemporaryDirectory() + "wattline-bench-\(getpid()).copy"
_ = FileManager.default.createFile(atPath: copyFile, contents: nil)
let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: copyFile))
var fileWriter = BinaryCopyWriter(columnCount: 3) { chunk in handle.write(Data(chunk)) }
try write(rows, into: &fileWriter)
try fileWriter.finish()
try handle.close()
defer { try? FileManager.default.removeItem(atPath: copyFile) }

@MainActor func psqlCopy() throws {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/psql")
    process.arguments = [conninfo, "-v", "ON_ERROR_STOP=1", "-q", "-c", "\\copy bench_rows FROM '\(copyFile)' WITH (FORMAT binary)"]
    try process.run()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { fatalError("psql \\copy failed") }
}

var swiftTimes: [Double] = []
var psqlTimes: [Double] = []
@MainActor func timeSwift() throws {
    try connection.execute("TRUNCATE bench_rows; CHECKPOINT")
    swiftTimes.append(try seconds {
        let copied = try connection.copyIn("bench_rows", columns: ["channel_id", "ts", "value"]) { writer in try write(rows, into: &writer) }
        precondition(copied == rows.count)
    })
}
@MainActor func timePsql() throws {
    try connection.execute("TRUNCATE bench_rows; CHECKPOINT")
    psqlTimes.append(try seconds { try psqlCopy() })
    let loaded = try connection.query("SELECT count(*) FROM bench_rows")[0].int64(0)
    precondition(loaded == Int64(rows.count))
}
// Three rounds, alternating which goes first; the best run of each counts.
for round in 0..<3 {
    if round % 2 == 0 { try timeSwift(); try timePsql() } else { try timePsql(); try timeSwift() }
}
let swiftRate = Double(rows.count) / swiftTimes.min()!
let psqlRate = Double(rows.count) / psqlTimes.min()!
print(String(format: "WattlineStore copyIn  %10.0f rows/s  (best of %@ s)", swiftRate, swiftTimes.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
print(String(format: "psql \\copy            %10.0f rows/s  (best of %@ s)", psqlRate, psqlTimes.map { String(format: "%.2f", $0) }.joined(separator: ", ")))
print(String(format: "ratio store / psql: %.2f (target >= 0.95)", swiftRate / psqlRate))

// MARK: query round trip

print("== store: prepared `SELECT $1::int8` round trip, \(queryCount) sequential calls")
let raw = PQconnectdb(conninfo)!
precondition(PQstatus(raw) == CONNECTION_OK)
defer { PQfinish(raw) }
var oid: UInt32 = 20
PQclear(PQprepare(raw, "q", "SELECT $1::int8", 1, &oid))
func rawQuery(_ raw: OpaquePointer, _ value: Int64) {
    var big = value.bigEndian
    withUnsafeBytes(of: &big) { bytes in
        var values: [UnsafePointer<CChar>?] = [bytes.baseAddress!.assumingMemoryBound(to: CChar.self)]
        var lengths: [Int32] = [8]
        var formats: [Int32] = [1]
        let result = PQexecPrepared(raw, "q", 1, &values, &lengths, &formats, 1)
        precondition(PQresultStatus(result) == PGRES_TUPLES_OK)
        PQclear(result)
    }
}
let pool = ConnectionPool(.init(conninfo: conninfo, size: 1))
defer { pool.shutdown() }
_ = try await pool.run { try $0.query("SELECT $1::int8", [.int64(0)]) }  // connect and prepare
for index in 0..<1_000 { rawQuery(raw, Int64(index)) }  // warm up

// Interleaved in short runs so that both see the same machine state (this VM's wake-up
// latency swings by 5x between idle and busy phases).
var rawTotal = 0.0
var poolTotal = 0.0
var executorTotal = 0.0
let chunk = 250
for round in 0..<(queryCount / chunk) {
    let rawRun = { seconds { for index in 0..<chunk { rawQuery(raw, Int64(index)) } } }
    let poolRun = {
        try await asyncSeconds {
            for index in 0..<chunk {
                let value = try await pool.run { try $0.query("SELECT $1::int8", [.int64(Int64(index))])[0].int64(0) }
                precondition(value == Int64(index))
            }
        }
    }
    // The same calls from a task running on the pool's executor: no thread hand-off.
    let executorRun = {
        try await withTaskExecutorPreference(pool) {
            try await asyncSeconds {
                for index in 0..<chunk {
                    let value = try await pool.run { try $0.query("SELECT $1::int8", [.int64(Int64(index))])[0].int64(0) }
                    precondition(value == Int64(index))
                }
            }
        }
    }
    if round % 2 == 0 {
        rawTotal += rawRun()
        poolTotal += try await poolRun()
        executorTotal += try await executorRun()
    } else {
        executorTotal += try await executorRun()
        poolTotal += try await poolRun()
        rawTotal += rawRun()
    }
}
let calls = Double(queryCount / chunk * chunk)
let rawMicros = rawTotal / calls * 1e6
let poolMicros = poolTotal / calls * 1e6
let executorMicros = executorTotal / calls * 1e6
print(String(format: "raw libpq PQexecPrepared    %7.1f µs/call", rawMicros))
print(String(format: "ConnectionPool.run + query  %7.1f µs/call", poolMicros))
print(String(format: "ConnectionPool.run on the pool's task executor %7.1f µs/call", executorMicros))
print(String(format: "pool overhead: %.1f µs/call from any task, %.1f µs/call on the pool's executor (target <= 10)",
             poolMicros - rawMicros, executorMicros - rawMicros))
print(String(format: """
    {"benchmark":"store","rows":%d,"copy_rows_per_s":%.0f,"psql_copy_rows_per_s":%.0f,"copy_ratio":%.3f,\
    "raw_query_us":%.2f,"pool_query_us":%.2f,"pool_overhead_us":%.2f,"executor_query_us":%.2f,"executor_overhead_us":%.2f}
    """, rows.count, swiftRate, psqlRate, swiftRate / psqlRate, rawMicros, poolMicros, poolMicros - rawMicros,
    executorMicros, executorMicros - rawMicros))
