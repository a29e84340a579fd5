import WattlineCrypto

/// Settings of the identity service's sign-in and sessions (docs/identity.md, Sessions).
public struct ImsConfiguration: Sendable {
    /// A session's absolute end: refreshing never extends it.
    public var sessionLifetime: Duration = .seconds(30 * 24 * 3600)
    /// How long after a rotation the replaced refresh token still yields the same successor
    /// (two tabs refreshing at once); later, presenting it revokes the whole session.
    public var refreshGraceWindow: Duration = .seconds(10)
    /// Sign-in throttling per e-mail address (its blind index) and per source address.
    public var throttle = LoginThrottlePolicy()
    /// argon2id work (hash, verify, dummy verify) running at once, on dedicated threads.
    public var maxConcurrentHashes = 2
    /// Sign-ins waiting for a hashing thread; beyond this, Login answers RESOURCE_EXHAUSTED.
    public var maxWaitingHashes = 32
    /// How long `isSessionRevoked` trusts a "still open" answer from the database. Revocations
    /// made through this instance take effect at once; other instances learn within this time.
    public var revocationCacheLifetime: Duration = .seconds(2)
    /// Sessions remembered by the revocation cache.
    public var revocationCacheCapacity = 10_000
    /// An invitation's validity when Invite's valid_for_seconds is 0 (the contract's 7 days).
    public var invitationLifetime: Duration = .seconds(7 * 24 * 3600)
    /// How long a password-reset token works (the contract's CompletePasswordReset says 1 hour).
    public var passwordResetLifetime: Duration = .seconds(3600)
    /// RequestPasswordReset calls per e-mail address (known or not) and per source address within
    /// `resetThrottleWindow`; beyond them it answers RESOURCE_EXHAUSTED.
    public var resetRequestsPerAddress = 3
    public var resetRequestsPerSource = 30
    public var resetThrottleWindow: Duration = .seconds(15 * 60)
    /// RequestPasswordReset answers no sooner than this after it began, whether or not the
    /// address is known, so that its timing does not tell (the work itself takes a few ms).
    public var resetAnswerTime: Duration = .milliseconds(250)

    public init() {}
}

/// Growing delays and temporary lockouts after failed sign-ins, counted per subject (an e-mail
/// address's blind index, a source address) in `ims.login_throttle`.
///
/// Failure `k` of a subject (counted since its last success, forgotten after `memory` without a
/// failure) delays the answer by `delay * 2^(k-1)` up to `maximumDelay`; from failure
/// `lockoutThreshold` on, each failure locks the subject for `lockout * 2^(k - threshold)`, up to
/// `maximumLockout`. Attempts while locked are answered without checking the password and do
/// not extend the lock.
public struct LoginThrottlePolicy: Sendable {
    public var delay: Duration = .milliseconds(250)
    public var maximumDelay: Duration = .seconds(2)
    public var lockoutThreshold = 5
    public var lockout: Duration = .seconds(60)
    public var maximumLockout: Duration = .seconds(3600)
    /// Per source address: more failures are tolerated (offices behind one NAT address).
    public var sourceLockoutThreshold = 50
    public var sourceLockout: Duration = .seconds(60)
    /// A failure older than this is forgotten (the count restarts).
    public var memory: Duration = .seconds(24 * 3600)
    /// What a locked source address is told. The contract's RESOURCE_EXHAUSTED by default: it
    /// says nothing about any account. A locked e-mail address is always answered exactly like
    /// a wrong password (docs/identity.md, Sessions).
    public var sourceLockAnswer: SourceLockAnswer = .resourceExhausted

    public enum SourceLockAnswer: Sendable {
        case resourceExhausted
        case sameAsWrongPassword
    }

    public init() {}

    /// The delay after failure number `failures` (1-based).
    func delay(afterFailures failures: Int) -> Duration {
        guard failures > 0, delay > .zero else { return .zero }
        let shift = min(failures - 1, 20)
        return min(delay * (1 << shift), maximumDelay)
    }

    /// How long failure number `failures` locks a subject with `threshold` and `base`, if at all.
    func lock(afterFailures failures: Int, threshold: Int, base: Duration) -> Duration? {
        guard threshold > 0, failures >= threshold else { return nil }
        let shift = min(failures - threshold, 20)
        return min(base * (1 << shift), maximumLockout)
    }
}

