import Synchronization

/// Answers remembered for a short time, bounded in number. `generation` guards against a race:
/// an answer read from the database before a local revocation must not be stored after it, so
/// `store` takes the generation seen before the read and drops the answer if it has moved.
final class AnswerCache<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry {
        var value: Value
        var validUntil: ContinuousClock.Instant
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var generation: UInt64 = 0
    }

    private let capacity: Int
    private let state = Mutex(State())

    init(capacity: Int) { self.capacity = max(1, capacity) }

    var generation: UInt64 { state.withLock { $0.generation } }

    func value(_ key: Key) -> Value? {
        state.withLock { state in
            guard let entry = state.entries[key] else { return nil }
            guard ContinuousClock.now < entry.validUntil else {
                state.entries[key] = nil
                return nil
            }
            return entry.value
        }
    }

    func store(_ value: Value, for key: Key, validFor: Duration, seenGeneration: UInt64) {
        let until = ContinuousClock.now + validFor
        state.withLock { state in
            guard state.generation == seenGeneration else { return }
            if state.entries.count >= capacity, state.entries[key] == nil {
                let now = ContinuousClock.now
                state.entries = state.entries.filter { $0.value.validUntil > now }
                if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[key] = Entry(value: value, validUntil: until)
        }
    }

    /// Stores an answer that no database read can contradict (a local revocation).
    func force(_ value: Value, for key: Key, validFor: Duration) {
        let until = ContinuousClock.now + validFor
        state.withLock { state in
            state.generation &+= 1
            state.entries[key] = Entry(value: value, validUntil: until)
        }
    }

    /// Drops every answer `matches` selects, and any answer being read meanwhile.
    func remove(where matches: (Key, Value) -> Bool) {
        state.withLock { state in
            state.generation &+= 1
            state.entries = state.entries.filter { !matches($0.key, $0.value.value) }
        }
    }
}
