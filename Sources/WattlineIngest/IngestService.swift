import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.telemetry.v1.IngestService.Ingest`: one long-lived stream per logger. The logger sends
/// a hello, then batches; the server answers a welcome, then one ack per batch in batch order,
/// each only after the batch's transaction committed (`GroupCommitter`). A rejected batch gets its
/// precise status in its ack and the stream carries on; a storage failure ends the stream with
/// UNAVAILABLE (nothing of the unacknowledged batches is lost: the logger resends them).
public final class IngestService: Sendable {
    let store: Store
    let limits: IngestLimits
    let committer: GroupCommitter

    public init(store: Store, keyring: TenantKeyring, limits: IngestLimits = IngestLimits()) {
        self.store = store
        self.limits = limits
        self.committer = GroupCommitter(store: store, keyring: keyring, maxGroup: limits.maxGroup)
    }

    public func register(in router: inout Router) {
        router.bidirectional(TelemetryV1.IngestService.Ingest.self) { [self] requests, responses, context in
            try await ingest(requests, responses, context)
        }
    }

    /// An ack waiting for its batch's commit, or already decided.
    private enum PendingAck: Sendable {
        case decided(TelemetryV1.BatchAck)
        case committing(ValidatedBatch, PendingOutcome)
    }

    func ingest(
        _ requests: RequestStream<TelemetryV1.IngestRequest>, _ responses: ResponseWriter<TelemetryV1.IngestResponse>,
        _ context: CallContext
    ) async throws {
        guard case .logger(let loggerText, let siteText, let tenantText, _) = context.principal as? Principal,
              let logger = UUID(uuidString: loggerText), let site = UUID(uuidString: siteText), let tenantUUID = UUID(uuidString: tenantText)
        else { throw CallFailure.unauthenticated("only a logger authenticated by its certificate or API secret ingests") }
        let tenant = TenantID(tenantUUID)

        let (limits, store) = (self.limits, self.store)
        var opening = requests.makeAsyncIterator()
        guard let first = try await opening.next(), case .hello(let hello)? = first.kind else {
            throw CallFailure.invalidArgument("the first message of the ingest stream must be a hello")
        }
        guard let state = try await LoggerState.load(store, tenant: tenant, logger: logger, site: site) else {
            throw CallFailure.permissionDenied("this logger is not in service at its site")
        }
        let inFlight = max(1, min(hello.maxInFlight == 0 ? limits.maxInFlight : hello.maxInFlight, limits.maxInFlight))
        let now = Self.nowMs()
        try await responses.write(.with {
            $0.kind = .welcome(.with {
                $0.lastStoredSequence = state.lastStoredSequence
                $0.maxInFlight = inFlight
                $0.maxBatchSamples = limits.maxBatchSamples
                $0.oldestAcceptedMs = now - limits.backfillWindowMs
            })
        })

        // Credits bound the batches between reading and acknowledging: without one the reader
        // stops reading, and the transport's flow control then slows the logger.
        let (credits, creditor) = AsyncStream<Void>.makeStream()
        for _ in 0..<inFlight { creditor.yield() }
        let (acks, acker) = AsyncStream<PendingAck>.makeStream()
        let committer = committer
        // Reader and ack writer run side by side; whichever fails first ends the call and cancels
        // the other (a reader waiting for the logger, or for a credit, must not outlive a failed
        // commit: the logger would wait for acks forever).
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {  // the acks, in batch order, each after its commit
                for await pending in acks {
                    let ack = try await Self.resolve(pending)
                    try await responses.write(.with { $0.kind = .ack(ack) })
                    creditor.yield()
                }
            }
            group.addTask {  // the batches: validated, then handed to the group committer
                defer { acker.finish() }
                var incoming = requests.makeAsyncIterator()
                var creditsLeft = credits.makeAsyncIterator()
                var state = state
                while let message = try await incoming.next() {
                    guard case .batch(let batch)? = message.kind else {
                        throw CallFailure.invalidArgument("only batches may follow the hello")
                    }
                    guard await creditsLeft.next() != nil else { return }
                    var checked = Self.check(batch, with: BatchValidator(limits: limits, channels: state.channels))
                    // A channel not of this logger: another logger's at the same site (allowed, and
                    // remembered), another site's, or none at all.
                    while case .failure(let rejection) = checked, let channel = rejection.channel {
                        guard let channelSite = try await LoggerState.site(ofChannel: channel, store, tenant: tenant) else { break }
                        guard channelSite == site else {
                            checked = .failure(.ofAnotherSite(channel))
                            break
                        }
                        state.channels.ofSite.insert(channel)
                        checked = Self.check(batch, with: BatchValidator(limits: limits, channels: state.channels))
                    }
                    switch checked {
                    case .failure(let rejection):
                        acker.yield(.decided(.with {
                            $0.sequence = batch.sequence
                            $0.outcome = .rejected
                            $0.code = rejection.code
                            $0.message = rejection.message
                        }))
                    case .success(let valid):
                        let item = GroupCommitter.Item(tenant: tenant, logger: logger, batch: valid)
                        acker.yield(.committing(valid, committer.submit(item)))
                    }
                }
            }
            do {
                while try await group.next() != nil {}
            } catch {
                group.cancelAll()
                creditor.finish()
                throw error
            }
        }
    }

    private static func check(_ batch: TelemetryV1.TelemetryBatch, with validator: BatchValidator) -> Result<ValidatedBatch, BatchRejection> {
        do throws(BatchRejection) {
            return .success(try validator.validate(batch, now: nowMs(), hash: sha256))
        } catch {
            return .failure(error)
        }
    }

    /// The ack of a batch once its fate is known; a failed commit ends the stream (retryable).
    private static func resolve(_ pending: PendingAck) async throws -> TelemetryV1.BatchAck {
        switch pending {
        case .decided(let ack):
            return ack
        case .committing(let batch, let outcome):
            switch await outcome.value {
            case .failure:
                throw CallFailure.unavailable("storage is unavailable; batch \(batch.sequence) and later were not stored: reconnect and resend")
            case .success(let outcome):
                return .with {
                    $0.sequence = batch.sequence
                    switch outcome {
                    case .stored:
                        $0.outcome = .stored
                        $0.storedSamples = UInt32(batch.sampleCount)
                        $0.flaggedSamples = UInt32(batch.flaggedCount)
                    case .duplicate:
                        $0.outcome = .duplicate
                    case .conflicting:
                        $0.outcome = .rejected
                        $0.code = 6
                        $0.message = "sequence \(batch.sequence) was stored earlier with different content; a new batch needs a new sequence"
                    }
                }
            }
        }
    }

    public static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }
}
