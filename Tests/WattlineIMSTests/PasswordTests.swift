import Foundation
import Testing
import WattlineAccess
import WattlineClient
import WattlineIMS
import WattlineProtos

@Suite(.serialized) struct PasswordTests {
    static let newPassword = "a brand new passphrase 7"

    @Test func changingThePasswordEndsEveryOtherSession() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let email = "change@example.com"
            let phone = try await f.person(email)
            let laptop = try await f.login(email, device: "laptop")
            let tablet = try await f.login(email, device: "tablet")
            let bearer = f.bearer(phone.login.accessToken)

            let wrong = await f.failure {
                try await f.ims.changePassword(.with {
                    $0.currentPassword = "not my password at all"
                    $0.newPassword = Self.newPassword
                }, options: bearer)
            }
            #expect(wrong?.code == 16)
            #expect(wrong?.message == ImsService.wrongCurrentPasswordMessage)
            let same = await f.failure {
                try await f.ims.changePassword(.with {
                    $0.currentPassword = IMSFixture.password
                    $0.newPassword = IMSFixture.password
                }, options: bearer)
            }
            #expect(same?.code == 3)
            let weak = await f.failure {
                try await f.ims.changePassword(.with {
                    $0.currentPassword = IMSFixture.password
                    $0.newPassword = "qwerty123456"
                }, options: bearer)
            }
            #expect(weak?.code == 3)
            // Nothing changed so far: the other sessions still work.
            _ = try await f.ims.whoAmI(.init(), options: f.bearer(laptop.accessToken))

            let changed = try await f.ims.changePassword(.with {
                $0.currentPassword = IMSFixture.password
                $0.newPassword = Self.newPassword
            }, options: bearer)
            #expect(changed.revokedSessions == 2)
            // The other sessions: refresh fails, and their access tokens are refused by the interceptor.
            for other in [laptop, tablet] {
                let refresh = await f.failure { try await f.refresh(other.refreshToken) }
                #expect(refresh?.code == 16)
                let call = await f.failure { try await f.ims.whoAmI(.init(), options: f.bearer(other.accessToken)) }
                #expect(call?.code == 16)
            }
            // The current one goes on.
            _ = try await f.ims.whoAmI(.init(), options: bearer)
            _ = try await f.refresh(phone.login.refreshToken)
            // The old password is gone, the new one signs in.
            let old = await f.loginFailure(email, IMSFixture.password)
            #expect(old?.code == 16)
            _ = try await f.login(email, Self.newPassword)
        }
    }

    @Test func wrongCurrentPasswordsCountTowardsTheLock() async throws {
        try await IMSFixture.with({ $0.throttle.lockoutThreshold = 2 }) { f in
            let person = try await f.person("guessed@example.com")
            for _ in 0..<2 {
                let wrong = await f.failure {
                    try await f.ims.changePassword(.with {
                        $0.currentPassword = "guess guess guess"
                        $0.newPassword = Self.newPassword
                    }, options: f.bearer(person.login.accessToken))
                }
                #expect(wrong?.code == 16)
            }
            // Locked: even the right current password is "wrong" now, and sign-in is locked too.
            let locked = await f.failure {
                try await f.ims.changePassword(.with {
                    $0.currentPassword = IMSFixture.password
                    $0.newPassword = Self.newPassword
                }, options: f.bearer(person.login.accessToken))
            }
            #expect(locked?.code == 16)
            let signIn = await f.loginFailure("guessed@example.com", IMSFixture.password)
            #expect(signIn?.code == 16)
        }
    }

    @Test func aResetTokenSetsThePasswordOnceAndEndsEverySession() async throws {
        try await IMSFixture.with(interceptor: true, { $0.resetAnswerTime = .zero }) { f in
            let email = "forgot@example.com"
            let first = try await f.person(email)
            let second = try await f.login(email)
            _ = try await f.ims.requestPasswordReset(.with { $0.email = " Forgot@Example.com" })
            let message = try #require(f.notifier.resets.last)
            #expect(message.email == email)
            #expect(message.identityID == first.id.text)
            #expect(message.token.utf8.count == 43)
            #expect(message.expiresAtMs - Int64(Date().timeIntervalSince1970 * 1000) > 3_500_000)
            #expect(!message.description.contains(message.token))

            let weak = await f.failure { try await f.completeReset(message.token, "password1234") }
            #expect(weak?.code == 3)
            let done = try await f.completeReset(message.token, Self.newPassword)
            #expect(done.revokedSessions == 2)
            for session in [first.login, second] {
                let refresh = await f.failure { try await f.refresh(session.refreshToken) }
                #expect(refresh?.code == 16)
                let call = await f.failure { try await f.ims.whoAmI(.init(), options: f.bearer(session.accessToken)) }
                #expect(call?.code == 16)
            }
            let reuse = await f.failure { try await f.completeReset(message.token, "yet another passphrase") }
            #expect(reuse?.code == 16)
            #expect(reuse?.message == ImsService.resetFailedMessage)
            let old = await f.loginFailure(email, IMSFixture.password)
            #expect(old?.code == 16)
            _ = try await f.login(email, Self.newPassword)
        }
    }

    @Test func aNewResetRequestReplacesTheOldTokenAndTokensExpire() async throws {
        try await IMSFixture.with({
            $0.resetAnswerTime = .zero
            $0.passwordResetLifetime = .seconds(1)
        }) { f in
            try await f.person("twice@example.com")
            _ = try await f.ims.requestPasswordReset(.with { $0.email = "twice@example.com" })
            _ = try await f.ims.requestPasswordReset(.with { $0.email = "twice@example.com" })
            let tokens = f.notifier.resets.map(\.token)
            #expect(tokens.count == 2)
            #expect(Set(tokens).count == 2)
            let replaced = await f.failure { try await f.completeReset(tokens[0], Self.newPassword) }
            #expect(replaced?.code == 16)
            try await Task.sleep(for: .milliseconds(1_200))
            let expired = await f.failure { try await f.completeReset(tokens[1], Self.newPassword) }
            #expect(expired?.code == 16)
            let garbage = await f.failure { try await f.completeReset("short", Self.newPassword) }
            #expect(garbage?.code == 16)
        }
    }

    @Test func anUnknownAddressGetsTheSameAnswerAtTheSameTime() async throws {
        try await IMSFixture.with({ $0.resetAnswerTime = .milliseconds(300) }) { f in
            try await f.person("known@example.com")
            let clock = ContinuousClock()
            var known: ImsV1.RequestPasswordResetResponse?
            var unknown: ImsV1.RequestPasswordResetResponse?
            let knownTime = try await clock.measure {
                known = try await f.ims.requestPasswordReset(.with { $0.email = "known@example.com" })
            }
            let unknownTime = try await clock.measure {
                unknown = try await f.ims.requestPasswordReset(.with { $0.email = "nobody@example.com" })
            }
            #expect(known?.serializedBytes() == unknown?.serializedBytes())
            #expect(known?.serializedBytes() == [])
            #expect(knownTime >= .milliseconds(300))
            #expect(unknownTime >= .milliseconds(300))
            #expect(knownTime < .milliseconds(1_500))
            #expect(unknownTime < .milliseconds(1_500))
            // Only the known address was e-mailed.
            #expect(f.notifier.resets.map(\.email) == ["known@example.com"])
        }
    }

    @Test func resetRequestsAreThrottledPerAddressKnownOrNot() async throws {
        try await IMSFixture.with({
            $0.resetAnswerTime = .zero
            $0.resetRequestsPerAddress = 2
        }) { f in
            try await f.person("popular@example.com")
            for email in ["popular@example.com", "ghost@example.com"] {
                for _ in 0..<2 { _ = try await f.ims.requestPasswordReset(.with { $0.email = email }) }
                let third = await f.failure { try await f.ims.requestPasswordReset(.with { $0.email = email }) }
                #expect(third?.code == 8)
            }
            #expect(f.notifier.resets.count == 2)
            // Another address is not affected.
            _ = try await f.ims.requestPasswordReset(.with { $0.email = "other@example.com" })
        }
    }
}

extension IMSFixture {
    func completeReset(_ token: String, _ password: String) async throws -> ImsV1.CompletePasswordResetResponse {
        try await ims.completePasswordReset(.with {
            $0.resetToken = token
            $0.newPassword = password
        })
    }
}
