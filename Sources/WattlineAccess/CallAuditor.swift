import WattlineWire

/// Records how audited calls ended (the audit log implements it). `AccessInterceptor` calls it,
/// since only it knows the caller and tenant even of a call it refuses.
public protocol CallAuditor: Sendable {
    /// Whether calls of `method` are recorded (asked for every call: cheap).
    func audits(_ method: String) -> Bool
    /// Records one call that ended; must not throw (a failure to record is the auditor's to report).
    func record(_ call: AuditedCall) async
}

/// One audited call as it ended.
public struct AuditedCall: Sendable {
    public let context: CallContext
    /// The caller as far as established (anonymous when authentication failed).
    public let principal: Principal
    /// The tenant the call acted in, if any.
    public let tenantID: String?
    /// The handler's response (unary calls), for subjects only known once it ran.
    public let response: (any Sendable)?
    /// Nil for success; otherwise what the caller was answered.
    public let failure: CallFailure?
}
