import WattlineAccess

/// Delivers the identity service's messages to people: invitation and password-reset tokens, out
/// of band (e-mail). The service hands a message over after the token is stored and does not wait
/// for the delivery's outcome: an implementation queues, retries and reports its own failures.
/// Implementations must never log the token (only `DevelopmentNotifier` does, by design).
public protocol Notifier: Sendable {
    func deliver(_ invitation: InvitationMessage) async
    func deliver(_ reset: PasswordResetMessage) async
}

/// An invitation to send: the invitee's address, the tenant and role, and the single-use token.
public struct InvitationMessage: Sendable, CustomStringConvertible {
    public let invitationID: String
    public let email: String
    public let tenantID: String
    public let role: TenantRole
    /// The secret: put it in the e-mail's link, nowhere else.
    public let token: String
    public let expiresAtMs: Int64

    /// Without the token (and without the address: personal data stays out of logs).
    public var description: String { "invitation \(invitationID) to tenant \(tenantID) as \(role.name)" }
}

/// A password-reset token to send to the identity's address.
public struct PasswordResetMessage: Sendable, CustomStringConvertible {
    public let identityID: String
    public let email: String
    /// The person's preferred locale, for the e-mail's language.
    public let locale: String
    /// The secret: put it in the e-mail's link, nowhere else.
    public let token: String
    public let expiresAtMs: Int64

    /// Without the token and the address.
    public var description: String { "password reset of identity \(identityID)" }
}

/// Production until e-mail delivery exists: nothing is sent, and `log` says so without the token
/// or the address. Invitations still work through the token in the Invite response; password
/// reset cannot complete.
public struct NoDeliveryNotifier: Notifier {
    let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void = { _ in }) { self.log = log }

    public func deliver(_ invitation: InvitationMessage) async {
        log("no e-mail delivery configured: \(invitation) was not e-mailed")
    }

    public func deliver(_ reset: PasswordResetMessage) async {
        log("no e-mail delivery configured: \(reset) was not e-mailed")
    }
}

/// DEVELOPMENT ONLY (`wattline-server --dev`): writes what would be e-mailed to `log`, the token
/// included, so that a developer can complete invitations and resets without a mail server.
/// Never use it where the log is kept or shared: whoever reads these lines can take over accounts.
public struct DevelopmentNotifier: Notifier {
    let log: @Sendable (String) -> Void

    public init(log: @escaping @Sendable (String) -> Void) { self.log = log }

    public func deliver(_ invitation: InvitationMessage) async {
        log("DEVELOPMENT ONLY, the token would be e-mailed: \(invitation) for \(invitation.email), token \(invitation.token)")
    }

    public func deliver(_ reset: PasswordResetMessage) async {
        log("DEVELOPMENT ONLY, the token would be e-mailed: \(reset) for \(reset.email), token \(reset.token)")
    }
}
