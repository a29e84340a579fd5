import Foundation
import Synchronization
import WattlineCrypto
import WattlineStore

/// Group commit: batches from every ingest stream queue here, and one writer stores all that
/// have queued since its last commit in one transaction, so that one WAL flush acknowledges many
/// batches (of many loggers and tenants). A batch's outcome is known only after COMMIT returned:
/// nothing is acknowledged that a crash could lose. Memory is bounded by the streams' in-flight
/// limits (a stream waits for its acks before it reads more).
final class GroupCommitter: Sendable {
    /// One batch to store for one logger.
    struct Item: Sendable {
        let tenant: TenantID
        let logger: UUID
        let batch: ValidatedBatch
    }

    /// What became of a batch.
    enum Outcome: Sendable, Equatable {
        case stored
        case duplicate
        /// Same sequence stored earlier with other content.
        case conflicting
    }

    private struct Waiting {
        let item: Item
        let outcome: PendingOutcome
    }

    private struct Queue {
        var waiting: [Waiting] = []
        var writing = false
    }

    private let store: Store
    private let keyring: TenantKeyring
    private let maxGroup: Int
    private let queue = Mutex(Queue())

    init(store: Store, keyring: TenantKeyring, maxGroup: Int) {
        self.store = store
        self.keyring = keyring
        self.maxGroup = maxGroup
    }

    /// Stores `item` with whatever else is queued; returns once its transaction has committed
    /// (or failed: then nothing of it is stored and the logger must resend).
    /// Queues `item` now, in the caller's order (a stream's batches must be written in the order
    /// they arrived: of two batches with one sequence, the first sent is the one stored), and
    /// returns its outcome to await.
    func submit(_ item: Item) -> PendingOutcome {
        let outcome = PendingOutcome()
        let start = queue.withLock { queue -> Bool in
            queue.waiting.append(Waiting(item: item, outcome: outcome))
            guard !queue.writing else { return false }
            queue.writing = true
            return true
        }
        if start { Task { await self.drain() } }
        return outcome
    }

    private func drain() async {
        while true {
            let group = queue.withLock { queue -> [Waiting] in
                let group = Array(queue.waiting.prefix(maxGroup))
                queue.waiting.removeFirst(group.count)
                if group.isEmpty { queue.writing = false }
                return group
            }
            guard !group.isEmpty else { return }
            let items = group.map(\.item)
            let result: Result<[Outcome], Error>
            do {
                result = .success(try await write(items))
            } catch {
                result = .failure(error)
            }
            for (index, waiting) in group.enumerated() {
                waiting.outcome.resolve(result.map { $0[index] })
            }
        }
    }

    /// One transaction: per tenant, all its batches in one COPY and one INSERT … ON CONFLICT DO
    /// NOTHING (a resend inserts nothing), then the loggers' last stored sequence advanced.
    private func write(_ items: [Item]) async throws -> [Outcome] {
        let keyring = keyring
        return try await store.groupTransaction { tx in
            var outcomes = [Outcome](repeating: .stored, count: items.count)
            let byTenant = Dictionary(grouping: items.indices, by: { items[$0].tenant })
            for (tenant, indices) in byTenant {
                try tx.within(tenant) { t in
                    let payloads = try indices.map { index in
                        let item = items[index]
                        return try keyring.seal(
                            item.batch.batch.serializedBytes(), t, table: "ingest_batches", column: "payload",
                            row: Self.rowID(logger: item.logger, sequence: Int64(item.batch.sequence)))
                    }
                    let inserted = try t.copyInSkippingConflicts(
                        "wattline.ingest_batches",
                        columns: ["tenant_id", "logger_id", "sequence", "sample_count", "content_sha256", "start_ms", "end_ms",
                                  "flagged_count", "payload"],
                        returning: "logger_id, sequence"
                    ) { writer in
                        for (position, index) in indices.enumerated() {
                            let item = items[index]
                            let batch = item.batch
                            try writer.beginRow()
                            writer.append(.uuid(tenant.uuid))
                            writer.append(.uuid(item.logger))
                            writer.append(Int64(batch.sequence))
                            writer.append(Int32(batch.sampleCount))
                            writer.append(batch.contentSHA256)
                            writer.append(batch.startMs)
                            writer.append(batch.endMs)
                            writer.append(Int32(batch.flaggedCount))
                            writer.append(payloads[position])
                        }
                    }
                    var unclaimed = Set(try inserted.rows.map { Key(logger: try $0.uuid(0), sequence: try $0.int64(1)) })
                    var highest: [UUID: Int64] = [:]
                    for index in indices {
                        let item = items[index]
                        let key = Key(logger: item.logger, sequence: Int64(item.batch.sequence))
                        if unclaimed.remove(key) != nil {
                            highest[item.logger] = max(highest[item.logger] ?? 0, key.sequence)
                            continue
                        }
                        // Stored before, or earlier in this group: the same content is a resend.
                        let stored = try t.query(
                            "SELECT content_sha256 FROM wattline.ingest_batches WHERE logger_id = $1 AND sequence = $2",
                            [.uuid(item.logger), .int64(key.sequence)]).first?.bytes(0)
                        outcomes[index] = stored.map { ConstantTime.equals($0, item.batch.contentSHA256) } == true ? .duplicate : .conflicting
                    }
                    // One statement for every logger of the group: a fleet's group holds a batch of
                    // hundreds of loggers, and a round trip each cost more than the rest of the commit.
                    if !highest.isEmpty {
                        try t.query(
                            """
                            UPDATE wattline.loggers l SET last_stored_sequence = GREATEST(l.last_stored_sequence, v.sequence)
                            FROM unnest($1::text[]::uuid[], $2::text[]::bigint[]) AS v(logger_id, sequence)
                            WHERE l.logger_id = v.logger_id
                            """,
                            [.textArray(highest.keys.map(\.lowercased)), .textArray(highest.values.map { String($0) })])
                    }
                }
            }
            return outcomes
        }
    }

    private struct Key: Hashable {
        let logger: UUID
        let sequence: Int64
    }

    /// The row a sealed payload is bound to: the logger and the sequence.
    static func rowID(logger: UUID, sequence: Int64) -> [UInt8] {
        logger.bytes + withUnsafeBytes(of: sequence.bigEndian) { Array($0) }
    }
}

/// The outcome of a submitted batch, resolved once by the committer and awaited by the stream.
final class PendingOutcome: Sendable {
    private let state = Mutex<(result: Result<GroupCommitter.Outcome, Error>?, waiter: CheckedContinuation<Result<GroupCommitter.Outcome, Error>, Never>?)>((nil, nil))

    func resolve(_ result: Result<GroupCommitter.Outcome, Error>) {
        let waiter = state.withLock { state in
            defer { state = (result, nil) }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    var value: Result<GroupCommitter.Outcome, Error> {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Result<GroupCommitter.Outcome, Error>? in
                    if state.result == nil { state.waiter = continuation }
                    return state.result
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
