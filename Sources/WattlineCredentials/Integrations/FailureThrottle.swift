import Synchronization

/// Counts failed attempts per key in fixed windows; a key over its limit is refused until its
/// window ends. In memory, per process: it bounds the work one source can cause, it is not what
/// protects the secrets (256 random bits cannot be guessed).
final class FailureThrottle: Sendable {
    private struct Window {
        var start: ContinuousClock.Instant
        var failures: Int
    }

    let limit: Int
    let window: Duration
    private let capacity: Int
    private let windows = Mutex<[String: Window]>([:])

    init(limit: Int, window: Duration, capacity: Int = 100_000) {
        self.limit = max(1, limit)
        self.window = window
        self.capacity = max(1, capacity)
    }

    func isThrottled(_ key: String) -> Bool {
        windows.withLock { windows in
            guard let entry = windows[key] else { return false }
            guard ContinuousClock.now - entry.start < window else {
                windows[key] = nil
                return false
            }
            return entry.failures >= limit
        }
    }

    func recordFailure(_ key: String) {
        let now = ContinuousClock.now
        windows.withLock { windows in
            if windows.count >= capacity, windows[key] == nil {
                windows = windows.filter { now - $0.value.start < window }
                if windows.count >= capacity { windows.removeAll(keepingCapacity: true) }
            }
            if var entry = windows[key], now - entry.start < window {
                entry.failures += 1
                windows[key] = entry
            } else {
                windows[key] = Window(start: now, failures: 1)
            }
        }
    }
}

/// The client's address without the port, from SwiftNIO's description of the remote address
/// ("[IPv4]203.0.113.7/203.0.113.7:50312", "[IPv6]::1/::1:50312"); nil without one.
enum SourceKey {
    static func of(_ remoteAddress: String?) -> String? {
        guard var text = remoteAddress, !text.isEmpty else { return nil }
        if let slash = text.lastIndex(of: "/") { text = String(text[text.index(after: slash)...]) }
        if let colon = text.lastIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isNumber) {
            text = String(text[..<colon])
        }
        return text.isEmpty ? nil : text
    }
}
