import Synchronization
import WattlineCrypto

/// The principals of access tokens seen recently, so a token presented again costs a dictionary
/// lookup instead of a SHA-256, a verified-token lookup and role parsing (the ≤ 2 µs budget per
/// call). An entry only stands while its token has not expired and the verifier's key ring is
/// the one it was verified under; session revocation is still asked on every call.
///
/// Bounded by two generations, like `VerifiedTokenCache`: when `recent` is full it becomes
/// `older` and the previous `older` is dropped whole; a hit in `older` moves back to `recent`.
final class PrincipalCache: Sendable {
    struct Entry: Sendable {
        let token: String
        let principal: Principal
        let tenantID: String?
        let sessionID: String
        let expiresAt: Int64
        let keyRingVersion: Int
    }

    /// The last 16 bytes of a token: part of its Ed25519 signature, so as unpredictable as the
    /// token and far cheaper to hash than the whole of it. A hit still compares the whole token.
    struct Key: Hashable {
        let high: UInt64
        let low: UInt64

        init?(_ token: String) {
            var token = token
            guard let key = token.withUTF8({ bytes -> Key? in
                guard bytes.count >= 16 else { return nil }
                let tail = UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[(bytes.count - 16)...]))
                return Key(high: tail.loadUnaligned(as: UInt64.self), low: tail.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
            }) else { return nil }
            self = key
        }

        private init(high: UInt64, low: UInt64) {
            self.high = high
            self.low = low
        }
    }

    private struct Generations {
        var recent: [Key: Entry] = [:]
        var older: [Key: Entry] = [:]
    }

    private let generationCapacity: Int
    private let state = Mutex(Generations())

    init(capacity: Int = 10_000) {
        generationCapacity = max(1, capacity / 2)
    }

    /// The entry for `token` if it still stands at `now` under ring `version`.
    func entry(for token: String, now: Int64, leeway: Int64, version: Int) -> Entry? {
        guard let key = Key(token) else { return nil }
        return state.withLock { state in
            var found = state.recent[key]
            if found == nil, let old = state.older.removeValue(forKey: key) {
                found = old
                Self.insert(old, for: key, into: &state, capacity: generationCapacity)
            }
            guard let entry = found, entry.token == token else { return nil }
            guard entry.keyRingVersion == version, now < entry.expiresAt + leeway else {
                state.recent[key] = nil
                return nil
            }
            return entry
        }
    }

    func insert(_ entry: Entry) {
        guard let key = Key(entry.token) else { return }
        state.withLock { Self.insert(entry, for: key, into: &$0, capacity: generationCapacity) }
    }

    private static func insert(_ entry: Entry, for key: Key, into state: inout Generations, capacity: Int) {
        if state.recent.count >= capacity, state.recent[key] == nil {
            state.older = state.recent
            state.recent = [:]
        }
        state.recent[key] = entry
    }
}
