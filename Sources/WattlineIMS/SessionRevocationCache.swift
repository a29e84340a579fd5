import Foundation
import Synchronization

/// Answers of `isSessionRevoked`, remembered briefly. An ended session stays ended, so "ended"
/// is kept until the capacity forces it out; "open" is trusted for `lifetime` only (and never
/// past the session's end). Revocations made through this process are recorded at once.
final class SessionRevocationCache: Sendable {
    private struct Entry {
        var ended: Bool
        /// Monotonic deadline of an "open" answer.
        var validUntil: ContinuousClock.Instant
    }

    private let lifetime: Duration
    private let capacity: Int
    private let entries = Mutex<[UUID: Entry]>([:])

    init(lifetime: Duration, capacity: Int) {
        self.lifetime = lifetime
        self.capacity = max(1, capacity)
    }

    /// true: ended; false: open; nil: ask the database.
    func lookup(_ sessionID: UUID) -> Bool? {
        entries.withLock { entries in
            guard let entry = entries[sessionID] else { return nil }
            if entry.ended { return true }
            if ContinuousClock.now < entry.validUntil { return false }
            entries[sessionID] = nil
            return nil
        }
    }

    func record(_ sessionID: UUID, ended: Bool, sessionExpiresInMs: Int64?) {
        var validFor = lifetime
        if let remaining = sessionExpiresInMs { validFor = min(validFor, .milliseconds(max(0, remaining))) }
        let until = ContinuousClock.now + validFor
        entries.withLock { entries in
            if entries.count >= capacity, entries[sessionID] == nil {
                // Drop expired "open" answers first; if that frees nothing, start over.
                let now = ContinuousClock.now
                entries = entries.filter { $0.value.ended || $0.value.validUntil > now }
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            }
            entries[sessionID] = Entry(ended: ended, validUntil: until)
        }
    }

    func recordEnded(_ sessionIDs: [UUID]) {
        for id in sessionIDs { record(id, ended: true, sessionExpiresInMs: nil) }
    }
}
