import Foundation
import Synchronization
import WattlineStore

/// The fingerprints (lowercase hex SHA-256 of the DER) of logger certificates that must be
/// refused at connect, for `TLSConfiguration.certificateRevoked`: revoked ones, and ones whose
/// expiry rotation moved before their notAfter (refused from that time on, which `contains`
/// checks against the clock, so an overlap ends on time between refreshes).
///
/// `contains` is called from the TLS verify callback on an event loop: it only reads memory
/// under a lock. `refresh()` reloads the set from every tenant (`Lookup.revocations`), for a
/// timer to call (other nodes' revocations arrive that way); revocations through this process
/// are recorded at once. A certificate past its notAfter is dropped: TLS refuses it anyway.
public final class RevokedCertificates: Sendable {
    private struct State {
        /// Fingerprint → the time (ms) from which it is refused; `Int64.min` = revoked.
        var refusedFrom: [String: Int64] = [:]
        /// Local changes and when they were made, so that a refresh whose query began before one
        /// committed does not lose it.
        var recent: [String: (from: Int64, at: ContinuousClock.Instant)] = [:]
    }

    private let store: Store
    private let state = Mutex(State())

    public init(store: Store) { self.store = store }

    /// Whether a certificate with this fingerprint must be refused now.
    public func contains(_ fingerprint: String) -> Bool {
        guard let from = state.withLock({ $0.refusedFrom[fingerprint] }) else { return false }
        return from == Int64.min || from <= Clock.nowMs()
    }

    /// Fingerprints held (revoked or with a shortened expiry).
    public var count: Int { state.withLock { $0.refusedFrom.count } }

    /// Reloads the whole set from the database. Changes recorded locally while it ran survive.
    public func refresh() async throws {
        let started = ContinuousClock.now
        let rows = try await store.lookup(.revocations) { tx in
            try tx.query("""
                SELECT encode(certificate_sha256, 'hex'), revoked_at IS NOT NULL, expires_at FROM wattline.credentials
                WHERE certificate_sha256 IS NOT NULL AND coalesce(not_after, 'infinity') > now()
                  AND (revoked_at IS NOT NULL OR expires_at < coalesce(not_after, 'infinity'))
                """).rows.map { row in
                (try row.string(0), try row.bool(1), try row.optionalTimestampMs(2))
            }
        }
        var loaded: [String: Int64] = [:]
        for (fingerprint, revoked, expiresAt) in rows {
            loaded[fingerprint] = revoked ? Int64.min : (expiresAt ?? Int64.min)
        }
        state.withLock { state in
            state.recent = state.recent.filter { $0.value.at >= started }
            for (fingerprint, change) in state.recent { loaded[fingerprint] = min(loaded[fingerprint] ?? .max, change.from) }
            state.refusedFrom = loaded
        }
    }

    /// Refreshes now and then every `interval` until the task is cancelled (start it in a task
    /// of the server's lifetime). A failed refresh keeps the set it had and is reported.
    public func keepRefreshed(every interval: Duration = .seconds(30), onError: @Sendable (any Error) -> Void = { _ in }) async {
        while !Task.isCancelled {
            do {
                try await refresh()
            } catch is CancellationError {
                return
            } catch {
                onError(error)
            }
            do { try await Task.sleep(for: interval) } catch { return }
        }
    }

    /// Refuses the certificate from now on.
    func revoke(_ fingerprint: String) {
        record(fingerprint, from: Int64.min)
    }

    /// Refuses the certificate from `expiresAt` (ms) on (rotation shortened its life).
    func expire(_ fingerprint: String, at expiresAt: Int64) {
        record(fingerprint, from: expiresAt)
    }

    private func record(_ fingerprint: String, from: Int64) {
        let now = ContinuousClock.now
        state.withLock { state in
            let earliest = min(state.refusedFrom[fingerprint] ?? .max, from)
            state.refusedFrom[fingerprint] = earliest
            state.recent[fingerprint] = (earliest, now)
        }
    }
}
