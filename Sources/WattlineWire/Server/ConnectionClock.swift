import NIOCore

/// The timers of one server connection (docs/protocol.md §6) as a value: when the HELLO is late,
/// when to send a keepalive `PING`, when its answer is late, when an idle connection is closed,
/// and whether a peer pings too often. The handler runs one scheduled task at `nextDeadline`.
struct ConnectionClock {
    enum Event: Equatable {
        case sendPing
        case helloTimedOut
        case keepaliveTimedOut
        case idleTimedOut
    }

    /// Unsolicited pings allowed: a burst of 12, then one per 5 s (one per 5 s over a minute).
    static let pingBurst = 12.0
    static let pingRefill = TimeAmount.seconds(5)

    let keepaliveInterval: TimeAmount?
    /// How long a keepalive `PING` may go unanswered (20 s in the spec; shorter in tests).
    let keepaliveAnswerTimeout: TimeAmount
    let idleTimeout: TimeAmount?
    private var helloDeadline: NIODeadline?
    private var lastReceived: NIODeadline
    private var pingSent: NIODeadline?
    private var idleSince: NIODeadline?
    private var pingCredit = pingBurst
    private var creditCheckedAt: NIODeadline

    init(settings: WireSettings, helloTimeout: TimeAmount, keepaliveAnswerTimeout: TimeAmount, now: NIODeadline) {
        self.keepaliveAnswerTimeout = keepaliveAnswerTimeout
        keepaliveInterval = settings.keepaliveIntervalMs > 0 ? .milliseconds(Int64(settings.keepaliveIntervalMs)) : nil
        idleTimeout = settings.idleTimeoutMs > 0 ? .milliseconds(Int64(settings.idleTimeoutMs)) : nil
        helloDeadline = now + helloTimeout
        lastReceived = now
        idleSince = now
        creditCheckedAt = now
    }

    /// Any frame from the peer proves it alive. Returns true when that answered an outstanding
    /// keepalive `PING`, so the next ping is due earlier than the timer is set for.
    mutating func received(at now: NIODeadline) -> Bool {
        lastReceived = now
        defer { pingSent = nil }
        return pingSent != nil
    }

    mutating func helloReceived() { helloDeadline = nil }

    /// Calls went from none to some (`busy`) or back.
    mutating func callsChanged(busy: Bool, at now: NIODeadline) {
        idleSince = busy ? nil : (idleSince ?? now)
    }

    /// Whether one more unsolicited `PING` is within the allowed rate.
    mutating func allowPing(at now: NIODeadline) -> Bool {
        let refill = Double((now - creditCheckedAt).nanoseconds) / Double(Self.pingRefill.nanoseconds)
        pingCredit = min(Self.pingBurst, pingCredit + refill) - 1
        creditCheckedAt = now
        return pingCredit >= 0
    }

    /// What is due at `now`; a `sendPing` is recorded as sent.
    mutating func due(at now: NIODeadline) -> Event? {
        if let helloDeadline, now >= helloDeadline { return .helloTimedOut }
        if let pingSent, now >= pingSent + keepaliveAnswerTimeout { return .keepaliveTimedOut }
        if let idleTimeout, let idleSince, now >= idleSince + idleTimeout { return .idleTimedOut }
        if let keepaliveInterval, pingSent == nil, now >= lastReceived + keepaliveInterval {
            pingSent = now
            return .sendPing
        }
        return nil
    }

    /// When `due` should next be asked; nil when no timer is running.
    var nextDeadline: NIODeadline? {
        var next: NIODeadline?
        func consider(_ deadline: NIODeadline?) {
            guard let deadline else { return }
            next = next.map { min($0, deadline) } ?? deadline
        }
        consider(helloDeadline)
        consider(pingSent.map { $0 + keepaliveAnswerTimeout })
        if let idleTimeout { consider(idleSince.map { $0 + idleTimeout }) }
        if let keepaliveInterval, pingSent == nil { consider(lastReceived + keepaliveInterval) }
        return next
    }
}
