import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineWire

/// ChangePassword, RequestPasswordReset, CompletePasswordReset (docs/identity.md, Passwords in
/// the service). New passwords follow `PasswordPolicy`; every hash and verification runs on the
/// hashing threads; sessions end through the same path as logout, so `isSessionRevoked` refuses
/// their access tokens at once.
extension ImsService {
    /// The answer to every unusable reset token: unknown, used, expired, replaced.
    public static let resetFailedMessage = "the reset token is not valid (unknown, used or expired)"
    public static let wrongCurrentPasswordMessage = "the current password is wrong"

    func registerPasswords(in router: inout Router) {
        router.unary(ImsV1.ImsService.ChangePassword.self) { [self] request, context in
            try await changePassword(request, context)
        }
        router.unary(ImsV1.ImsService.RequestPasswordReset.self) { [self] request, context in
            try await requestPasswordReset(request, context)
        }
        router.unary(ImsV1.ImsService.CompletePasswordReset.self) { [self] request, context in
            try await completePasswordReset(request, context)
        }
    }

    func changePassword(_ request: ImsV1.ChangePasswordRequest, _ context: CallContext) async throws -> ImsV1.ChangePasswordResponse {
        let person = try await authenticatedPerson(context)
        let (identityID, sessionID) = try person.ids()
        let current = request.currentPassword.precomposedStringWithCanonicalMapping
        guard !current.isEmpty, current.utf8.count <= PasswordHasher.maximumPasswordByteCount else {
            throw CallFailure.invalidArgument("current_password of 1 to 256 characters is required")
        }
        let new = try PasswordPolicy.validated(request.newPassword, field: "new_password")
        guard new != current else { throw CallFailure.invalidArgument("new_password must differ from the current password") }
        let now = Self.nowMs()
        guard let state = try await db.passwordState(identityID, now: now) else {
            throw CallFailure.unauthenticated("the identity of this token no longer exists")
        }
        // A stolen access token must not become a password oracle: failures count against the
        // address's sign-in throttle, and while it is locked every answer is "wrong".
        let hasher = hasher
        let (stored, locked) = (state.passwordHash, state.locked)
        let verification = try await hash {
            if !locked, let stored { return hasher.verify(current, against: stored) }
            hasher.dummyVerify(current)
            return PasswordHasher.Verification.invalid
        }
        guard case .valid = verification, let stored else {
            let policy = configuration.throttle
            var delay = policy.delay(afterFailures: policy.lockoutThreshold)
            if !locked {
                let failures = try await db.recordFailure(account: state.accountSubject, source: nil, policy: policy, now: now)
                delay = policy.delay(afterFailures: failures)
            }
            if delay > .zero { try await Task.sleep(for: delay) }
            throw CallFailure.unauthenticated(Self.wrongCurrentPasswordMessage)
        }
        let newHash = try await hash { try hasher.hash(new) }
        guard let ended = try await db.changePassword(identityID, from: stored, to: newHash, keeping: sessionID, now: Self.nowMs()) else {
            throw CallFailure.aborted("the password was changed by another request meanwhile; try again")
        }
        revocations.recordEnded(ended)
        var response = ImsV1.ChangePasswordResponse()
        response.revokedSessions = UInt32(ended.count)
        return response
    }

    func requestPasswordReset(
        _ request: ImsV1.RequestPasswordResetRequest, _ context: CallContext
    ) async throws -> ImsV1.RequestPasswordResetResponse {
        let started = ContinuousClock.now
        let email = Self.normalizeEmail(request.email)
        guard !email.isEmpty, email.unicodeScalars.count <= 254,
              !email.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw CallFailure.invalidArgument("an e-mail address of 1 to 254 characters is required")
        }
        let sourceIP = SourceAddress.ip(fromRemoteAddress: context.peer.remoteAddress)
        let now = Self.nowMs()
        let token = try SecretToken.generate()  // for known and unknown addresses alike
        let outcome = try await db.requestPasswordReset(
            normalizedEmail: email, sourceKey: sourceIP.map(SourceAddress.throttleKey), token: token,
            throttle: .init(perAddress: configuration.resetRequestsPerAddress, perSource: configuration.resetRequestsPerSource,
                            window: configuration.resetThrottleWindow),
            now: now, expiresAt: now + configuration.passwordResetLifetime.wholeMilliseconds)
        switch outcome {
        case .throttled:
            throw CallFailure.resourceExhausted("too many password-reset requests for this address or from this source; try again later")
        case .unknownAddress:
            break
        case .issued(let message):
            await notifier.deliver(message)
        }
        // Known or not, the answer leaves at the same time after the request began.
        try await Task.sleep(until: started + configuration.resetAnswerTime, clock: .continuous)
        return ImsV1.RequestPasswordResetResponse()
    }

    func completePasswordReset(
        _ request: ImsV1.CompletePasswordResetRequest, _ context: CallContext
    ) async throws -> ImsV1.CompletePasswordResetResponse {
        guard let tokenHash = try SecretToken.hash(request.resetToken) else {
            throw CallFailure.unauthenticated(Self.resetFailedMessage)
        }
        let password = try PasswordPolicy.validated(request.newPassword, field: "new_password")
        // Only a live token is worth an argon2id hash; it is checked again when used.
        guard try await db.resetIsUsable(tokenHash: tokenHash, now: Self.nowMs()) else {
            throw CallFailure.unauthenticated(Self.resetFailedMessage)
        }
        let hasher = hasher
        let newHash = try await hash { try hasher.hash(password) }
        guard let (_, ended) = try await db.completePasswordReset(tokenHash: tokenHash, newHash: newHash, now: Self.nowMs()) else {
            throw CallFailure.unauthenticated(Self.resetFailedMessage)
        }
        revocations.recordEnded(ended)
        var response = ImsV1.CompletePasswordResetResponse()
        response.revokedSessions = UInt32(ended.count)
        return response
    }
}
