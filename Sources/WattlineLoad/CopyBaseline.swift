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

    func run() async throws -> (rows: Int, seconds: Double) {
        let setup = try PGConnection(conninfo: conninfo)
        try setup.execute("""
            DROP SCHEMA IF EXISTS \(Self.schema) CASCADE;
            CREATE SCHEMA \(Self.schema);
            CREATE TABLE \(Self.schema).samples (
                channel_id bigint NOT NULL, ts timestamptz NOT NULL, value double precision NOT NULL,
                quality integer NOT NULL, PRIMARY KEY (channel_id, ts))
            """)
        defer { try? setup.execute("DROP SCHEMA IF EXISTS \(Self.schema) CASCADE") }

        // The store's pool runs each connection's blocking COPY on a thread of its own.
        let pool = ConnectionPool(.init(conninfo: conninfo, size: connections))
        defer { pool.shutdown() }
        let (batchSamples, batchesPerCommit, loggers, connections) = (batchSamples, batchesPerCommit, loggers, connections)
        let started = ContinuousClock.now
        let deadline = started + duration
        let rows = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<connections {
                group.addTask {
                    // Each connection writes the batches of its share of the loggers, round robin.
                    let mine = loggers.indices.filter { $0 % connections == worker }.map {
                        SyntheticReadings(channels: loggers[$0].channels, batchSamples: batchSamples)
                    }
                    return try await pool.run { connection in
                        var rows = 0
                        var sequence: UInt64 = 1
                        while ContinuousClock.now < deadline {
                            try connection.execute("BEGIN")
                            for _ in 0..<batchesPerCommit {
                                for source in mine {
                                    guard let batch = source.next(sequence: sequence) else { continue }
                                    rows += try Self.copy(batch, connection)
                                }
                                sequence += 1
                            }
                            try connection.execute("COMMIT")
                        }
                        return rows
                    }
                }
            }
            return try await group.reduce(0, +)
        }
        return (rows, Double((ContinuousClock.now - started).microseconds) / 1e6)
    }

    private static func copy(_ batch: TelemetryV1.TelemetryBatch, _ connection: PGConnection) throws -> Int {
        try connection.copyIn("\(schema).samples", columns: ["channel_id", "ts", "value", "quality"]) { writer in
            try TelemetryBatchView(serializedBytes: batch.serializedBytes()).forEachSample { sample in
                try writer.beginRow()
                writer.append(Int64(bitPattern: sample.channelID))
                writer.appendTimestamp(ms: sample.timeMs)
                writer.append(sample.value)
                writer.append(Int32(bitPattern: sample.quality))
            }
        }
    }
}
