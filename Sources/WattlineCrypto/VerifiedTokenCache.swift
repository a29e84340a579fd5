/// Tokens that passed full verification, keyed by SHA-256 of the whole token, so a token
/// presented again skips the Ed25519 verification (~100 µs here) and the JSON parsing.
///
/// A hit is only as good as the first verification was, so the verifier still checks on every
/// hit what can change after it: the time claims against the current clock, and that the key
/// the token was verified with is still in the ring under the same ID. Only tokens that verified
/// are stored, so an attacker cannot fill it without valid tokens.
///
/// Bounded by two generations (an approximate LRU without per-entry bookkeeping): entries go
/// into `recent`; when it holds `capacity / 2`, it becomes `older` and the previous `older` is
/// dropped whole. A hit in `older` moves the entry back to `recent`, so tokens in use survive.
/// Not synchronised: the verifier keeps it under its lock.
struct VerifiedTokenCache {
    /// The 32-byte SHA-256 of a token, as four words (cheap to hash and compare).
    struct Key: Hashable {
        let words: (UInt64, UInt64, UInt64, UInt64)

        /// Nil only if libcrypto cannot provide SHA-256; the verifier then verifies uncached.
        init?(hashing token: UnsafeRawBufferPointer) {
            var words: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
            let hashed = withUnsafeMutableBytes(of: &words) { buffer in
                (try? sha256(token, into: buffer)) != nil
            }
            guard hashed else { return nil }
            self.words = words
        }

        static func == (lhs: Key, rhs: Key) -> Bool {
            lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
        }

        func hash(into hasher: inout Hasher) {
            hasher.combine(words.0)
            hasher.combine(words.1)
            hasher.combine(words.2)
            hasher.combine(words.3)
        }
    }

    struct Entry {
        let claims: AccessTokenClaims
        let keyID: String
        let publicKey: Ed25519PublicKey
    }

    let capacity: Int
    private let generationCapacity: Int
    private var recent: [Key: Entry] = [:]
    private var older: [Key: Entry] = [:]

    init(capacity: Int) {
        self.capacity = max(0, capacity)
        generationCapacity = max(1, self.capacity / 2)
    }

    var count: Int { recent.count + older.count }

    mutating func entry(for key: Key) -> Entry? {
        if let entry = recent[key] { return entry }
        guard let entry = older.removeValue(forKey: key) else { return nil }
        insert(entry, for: key)
        return entry
    }

    mutating func insert(_ entry: Entry, for key: Key) {
        guard capacity > 0 else { return }
        if recent.count >= generationCapacity, recent[key] == nil {
            older = recent
            recent = [:]
            recent.reserveCapacity(generationCapacity)
        }
        recent[key] = entry
    }

    mutating func remove(_ key: Key) {
        recent.removeValue(forKey: key)
        older.removeValue(forKey: key)
    }

    mutating func removeAll(where shouldRemove: (Entry) -> Bool) {
        recent = recent.filter { !shouldRemove($0.value) }
        older = older.filter { !shouldRemove($0.value) }
    }
}
