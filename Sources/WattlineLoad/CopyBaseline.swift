import Foundation
import WattlineProtos
import WattlineStore

/// The yardstick for ingest (issue "Telemetry ingest"): the same samples `run` sends, written
/// with binary COPY into an indexed row-per-sample table, one transaction (one durable commit)
/// per `batchesPerCommit` batches, on `connections` connections side by side, for `duration`.
/// The table lives in a scratch schema of the database `conninfo` names and is dropped afterwards.
struct CopyBaseline {
    let conninfo: String
    let loggers: [Fleet.Logger]
    let batchSamples: Int
    let batchesPerCommit: Int
    let connections: Int
    let duration: Duration

    static let schema = "wattline_load_copy_baseline"

    func run() throws -> (rows: Int, seconds: Double) {
        let setup = try PGConnection(conninfo: conninfo)
        try setup.execute("""
            DROP SCHEMA IF EXISTS \(Self.schema) CASCADE;
            CREATE SCHEMA \(Self.schema);
            CREATE TABLE \(Self.schema).samples (
                channel_id bigint NOT NULL, ts timestamptz NOT NULL, value double precision NOT NULL,
                quality integer NOT NULL, PRIMARY KEY (channel_id, ts))
            """)
        defer { try? setup.execute("DROP SCHEMA IF EXISTS \(Self.schema) CASCADE") }

        let started = ContinuousClock.now
        let deadline = started + duration
        let counts = try (0..<connections).map { worker -> Thread.Result in
            // Each connection writes the batches of its share of the loggers, round robin.
            let mine = loggers.indices.filter { $0 % connections == worker }.map {
                SyntheticReadings(channels: loggers[$0].channels, batchSamples: batchSamples)
            }
            return try Thread.Result.start {
                let connection = try PGConnection(conninfo: conninfo)
                var rows = 0
                var sequence: UInt64 = 1
                while ContinuousClock.now < deadline {
                    try connection.execute("BEGIN")
                    for _ in 0..<batchesPerCommit {
                        for source in mine {
                            guard let batch = source.next(sequence: sequence) else { continue }
                            rows += try connection.copyIn(
                                "\(Self.schema).samples", columns: ["channel_id", "ts", "value", "quality"]
                            ) { writer in
                                try TelemetryBatchView(serializedBytes: batch.serializedBytes()).forEachSample { sample in
                                    try writer.beginRow()
                                    writer.append(Int64(bitPattern: sample.channelID))
                                    writer.appendTimestamp(ms: sample.timeMs)
                                    writer.append(sample.value)
                                    writer.append(Int32(bitPattern: sample.quality))
                                }
                            }
                        }
                        sequence += 1
                    }
                    try connection.execute("COMMIT")
                }
                return rows
            }
        }
        let rows = try counts.reduce(0) { $0 + (try $1.wait()) }
        let elapsed = ContinuousClock.now - started
        return (rows, Double(elapsed.microseconds) / 1e6)
    }
}

extension Thread {
    /// A value computed on its own thread (COPY blocks in libpq; the workers must run side by side).
    final class Result: @unchecked Sendable {
        // Written once by the thread before `done` is signalled; read after.
        private var outcome: Swift.Result<Int, Error>?
        private let done = DispatchSemaphore(value: 0)

        static func start(_ body: @escaping @Sendable () throws -> Int) throws -> Result {
            let result = Result()
            let thread = Thread {
                result.outcome = Swift.Result { try body() }
                result.done.signal()
            }
            thread.start()
            return result
        }

        func wait() throws -> Int {
            done.wait()
            return try outcome!.get()
        }
    }
}
