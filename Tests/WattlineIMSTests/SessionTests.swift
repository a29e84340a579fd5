import Foundation
import Testing
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineAccess
import WattlineWire

@Suite struct SessionTests {
    @Test func refreshRotatesEveryTime() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "r@example.com", password: IMSFixture.password)
            let login = try await f.login("r@example.com")
            let first = try await f.refresh(login.refreshToken)
            #expect(first.refreshToken != login.refreshToken)
            #expect(first.sessionID == login.sessionID)
            #expect(first.refreshTokenExpiresAtMs == login.refreshTokenExpiresAtMs)  // absolute end
            let claims = try f.verifier.verify(first.accessToken)
            #expect(claims.sessionID == UUID(testBytes: login.sessionID)!.uuidString.lowercased())
            let second = try await f.refresh(first.refreshToken)
            #expect(second.refreshToken != first.refreshToken)
            _ = try await f.ims.whoAmI(.init(), options: f.bearer(second.accessToken))
            // Garbage and unknown tokens.
            do { let status = await f.failure { try await f.refresh("") }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.refresh(String(repeating: "A", count: 43)) }; #expect(status?.code == 16) }
        }
    }

    @Test func aSecondTabWithinTheGraceWindowGetsTheSameSuccessor() async throws {
        try await IMSFixture.with({ $0.refreshGraceWindow = .seconds(60) }) { f in
            try await f.admin.createIdentity(email: "tabs@example.com", password: IMSFixture.password)
            let login = try await f.login("tabs@example.com")
            // Both tabs at once, then one more time each.
            async let a = f.refresh(login.refreshToken)
            async let b = f.refresh(login.refreshToken)
            let (first, second) = try await (a, b)
            #expect(first.refreshToken == second.refreshToken)
            let third = try await f.refresh(login.refreshToken)
            #expect(third.refreshToken == first.refreshToken)
            // The successor works and rotates as usual.
            let next = try await f.refresh(first.refreshToken)
            #expect(next.refreshToken != first.refreshToken)
            #expect(try await f.service.isSessionRevoked(UUID(testBytes: login.sessionID)!.uuidString) == false)
        }
    }

    @Test func reuseAfterTheGraceWindowRevokesTheSession() async throws {
        try await IMSFixture.with({ $0.refreshGraceWindow = .milliseconds(300) }) { f in
            try await f.admin.createIdentity(email: "thief@example.com", password: IMSFixture.password)
            let login = try await f.login("thief@example.com")
            let rotated = try await f.refresh(login.refreshToken)
            try await Task.sleep(for: .milliseconds(450))
            let reuse = await f.failure { try await f.refresh(login.refreshToken) }
            #expect(reuse?.code == 16)
            #expect(reuse?.message == ImsService.refreshFailedMessage)
            // The whole family: the current token and the access tokens stop working too.
            do { let status = await f.failure { try await f.refresh(rotated.refreshToken) }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.ims.whoAmI(.init(), options: f.bearer(rotated.accessToken)) }; #expect(status?.code == 16) }
            #expect(try await f.service.isSessionRevoked(UUID(testBytes: login.sessionID)!.uuidString))
            let raw = try f.adminConnection()
            let row = try raw.query("SELECT revoked_reason, successor_enc IS NULL FROM ims.sessions")[0]
            #expect(try row.string(0) == "refresh_reuse")
            #expect(try row.bool(1))
        }
    }

    @Test func reuseOfAnOlderGenerationRevokesTheSession() async throws {
        try await IMSFixture.with({ $0.refreshGraceWindow = .seconds(30) }) { f in
            try await f.admin.createIdentity(email: "old-gen@example.com", password: IMSFixture.password)
            let login = try await f.login("old-gen@example.com")
            let first = try await f.refresh(login.refreshToken)
            let second = try await f.refresh(first.refreshToken)
            // Two generations back: not the grace window's token, so reuse even within 30 s.
            do { let status = await f.failure { try await f.refresh(login.refreshToken) }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.refresh(second.refreshToken) }; #expect(status?.code == 16) }
        }
    }

    @Test func logoutEndsTheSessionAtOnce() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "bye@example.com", password: IMSFixture.password)
            let login = try await f.login("bye@example.com")
            let sessionID = UUID(testBytes: login.sessionID)!.uuidString.lowercased()
            #expect(try await f.service.isSessionRevoked(sessionID) == false)  // cached as open
            _ = try await f.ims.logout(.init(), options: f.bearer("Bearer " + login.accessToken))
            #expect(try await f.service.isSessionRevoked(sessionID))
            do { let status = await f.failure { try await f.refresh(login.refreshToken) }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.ims.whoAmI(.init(), options: f.bearer(login.accessToken)) }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.ims.logout(.init(), options: f.bearer(login.accessToken)) }; #expect(status?.code == 16) }
            // Unknown and malformed session ids count as ended.
            #expect(try await f.service.isSessionRevoked(UUID().uuidString.lowercased()))
            #expect(try await f.service.isSessionRevoked("not-a-uuid"))
        }
    }

    @Test func logoutEverywhereAndTheSessionList() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "many@example.com", password: IMSFixture.password)
            try await f.admin.createIdentity(email: "other@example.com", password: IMSFixture.password)
            let phone = try await f.login("many@example.com", device: "phone")
            let laptop = try await f.login("many@example.com", device: "laptop")
            let tablet = try await f.login("many@example.com", device: "tablet")
            let stranger = try await f.login("other@example.com")

            let all = try await f.ims.listSessions(.init(), options: f.bearer(laptop.accessToken))
            #expect(all.sessions.count == 3)
            #expect(all.nextPageToken.isEmpty)
            #expect(all.sessions.map(\.client?.deviceName) == ["tablet", "laptop", "phone"])  // most recent first
            #expect(all.sessions.filter(\.current).map(\.sessionID) == [laptop.sessionID])
            #expect(all.sessions.allSatisfy { $0.lastSourceAddress == "127.0.0.1" && $0.expiresAtMs > $0.createdAtMs })

            var pages: [[UInt8]] = []
            var token = ""
            repeat {
                let page = try await f.ims.listSessions(.with { $0.pageSize = 1; $0.pageToken = token }, options: f.bearer(laptop.accessToken))
                pages += page.sessions.map(\.sessionID)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(pages == all.sessions.map(\.sessionID))

            // Not the caller's session: NOT_FOUND, like one that does not exist.
            do { let status = await f.failure {
                try await f.ims.revokeSession(.with { $0.sessionID = stranger.sessionID }, options: f.bearer(laptop.accessToken))
            }; #expect(status?.code == 5) }
            _ = try await f.ims.revokeSession(.with { $0.sessionID = tablet.sessionID }, options: f.bearer(laptop.accessToken))
            do { let status = await f.failure {
                try await f.ims.revokeSession(.with { $0.sessionID = tablet.sessionID }, options: f.bearer(laptop.accessToken))
            }; #expect(status?.code == 5) }
            do { let status = await f.failure { try await f.refresh(tablet.refreshToken) }; #expect(status?.code == 16) }

            let kept = try await f.ims.logoutEverywhere(.with { $0.keepCurrent = true }, options: f.bearer(laptop.accessToken))
            #expect(kept.revokedSessions == 1)  // the phone
            do { let status = await f.failure { try await f.refresh(phone.refreshToken) }; #expect(status?.code == 16) }
            let laptopNext = try await f.refresh(laptop.refreshToken)
            let left = try await f.ims.listSessions(.init(), options: f.bearer(laptopNext.accessToken))
            #expect(left.sessions.map(\.sessionID) == [laptop.sessionID])

            let everything = try await f.ims.logoutEverywhere(.init(), options: f.bearer(laptopNext.accessToken))
            #expect(everything.revokedSessions == 1)
            do { let status = await f.failure { try await f.refresh(laptopNext.refreshToken) }; #expect(status?.code == 16) }
            // The other person is untouched.
            _ = try await f.refresh(stranger.refreshToken)
        }
    }

    @Test func behindTheAccessInterceptorEndedSessionsAreRefusedAtOnce() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            try await f.admin.createIdentity(email: "ai@example.com", password: IMSFixture.password, platformOperator: true)
            let phone = try await f.login("ai@example.com", device: "phone")  // public method, no token
            let laptop = try await f.login("ai@example.com", device: "laptop")
            let me = try await f.ims.whoAmI(.init(), options: f.bearer(phone.accessToken))
            #expect(me.sessionID == phone.sessionID && me.platformOperator)
            #expect(me.accessTokenExpiresAtMs == phone.accessTokenExpiresAtMs)
            do { let status = await f.failure { try await f.ims.listSessions(.init()) }; #expect(status?.code == 16) }
            // Revoked from another device: the phone's access token stops working on the next call.
            _ = try await f.ims.revokeSession(.with { $0.sessionID = phone.sessionID }, options: f.bearer(laptop.accessToken))
            do {
                let status = await f.failure { try await f.ims.whoAmI(.init(), options: f.bearer(phone.accessToken)) }
                #expect(status?.code == 16)
            }
            _ = try await f.ims.logout(.init(), options: f.bearer(laptop.accessToken))
            do {
                let status = await f.failure { try await f.ims.listSessions(.init(), options: f.bearer(laptop.accessToken)) }
                #expect(status?.code == 16)
            }
            // Signing in again with a stale token in the header still works (public method).
            let again = try await f.ims.login(.with { $0.email = "ai@example.com"; $0.password = IMSFixture.password },
                                              options: f.bearer(laptop.accessToken))
            #expect(again.sessionID != laptop.sessionID)
        }
    }

    @Test func endedSessionsArePurged() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "purge@example.com", password: IMSFixture.password)
            let ended = try await f.login("purge@example.com")
            let open = try await f.login("purge@example.com")
            _ = try await f.refresh(ended.refreshToken)
            _ = try await f.ims.logout(.init(), options: f.bearer(ended.accessToken))
            let future = Int64(Date().timeIntervalSince1970 * 1_000) + 1_000
            #expect(try await f.admin.purgeEndedSessions(endedBefore: future) == 1)
            let raw = try f.adminConnection()
            #expect(try raw.query("SELECT count(*) FROM ims.sessions")[0].int64(0) == 1)
            #expect(try raw.query("SELECT count(*) FROM ims.retired_refresh_tokens")[0].int64(0) == 0)
            _ = try await f.refresh(open.refreshToken)
            #expect(try await f.service.isSessionRevoked(UUID(testBytes: ended.sessionID)!.uuidString))
        }
    }

    @Test func aPrincipalSetByTheInterceptorIsUsed() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "p@example.com", password: IMSFixture.password)
            let login = try await f.login("p@example.com")
            let claims = try f.verifier.verify(login.accessToken)
            var context = CallContextFactory.make(authorization: "")
            context.principal = Principal.person(identityID: claims.subject, sessionID: claims.sessionID, grants: Grants())
            let person = try await f.service.authenticatedPerson(context)
            #expect(person.identityID == claims.subject)
            context.principal = Principal.integration(credentialID: UUID().uuidString, grants: Grants())
            var refused: CallFailure?
            do { _ = try await f.service.authenticatedPerson(context) } catch let failure as CallFailure { refused = failure }
            #expect(refused?.code == 7)
        }
    }
}
