import Foundation
import Testing
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineTestSupport

@Suite struct SignInTests {
    @Test func loginIssuesTokensThatVerify() async throws {
        try await IMSFixture.with { f in
            let identity = try await f.admin.createIdentity(
                email: "Ops@Example.com", password: IMSFixture.password, platformOperator: true, displayName: "Ops")
            // Trimmed and lower-cased before the lookup.
            let login = try await f.login("  OPS@example.COM ")
            #expect(login.identityID == identity.testBytes)
            #expect(login.refreshToken.utf8.count == 43)
            #expect(login.refreshTokenExpiresAtMs > login.accessTokenExpiresAtMs)
            let claims = try f.verifier.verify(login.accessToken)
            #expect(claims.subject == identity.uuidString.lowercased())
            #expect(claims.sessionID == UUID(testBytes: login.sessionID)!.uuidString.lowercased())
            #expect(claims.roles == ["platform:operator"])
            #expect(claims.expiresAt - claims.issuedAt <= 15 * 60)
            #expect(login.accessTokenExpiresAtMs == claims.expiresAt * 1_000)

            let me = try await f.ims.whoAmI(.init(), options: f.bearer(login.accessToken))
            #expect(me.principalKind == .person)
            #expect(me.identityID == identity.testBytes)
            #expect(me.email == "ops@example.com")
            #expect(me.displayName == "Ops")
            #expect(me.platformOperator)
            #expect(me.sessionID == login.sessionID)
            #expect(me.accessTokenExpiresAtMs == login.accessTokenExpiresAtMs)
            #expect(try await f.service.isSessionRevoked(claims.sessionID) == false)
        }
    }

    @Test func wrongPasswordAndUnknownAddressAnswerAlike() async throws {
        try await IMSFixture.with { f in
            try await f.admin.createIdentity(email: "anna@example.com", password: IMSFixture.password)
            let wrong = await f.failure { try await f.login("anna@example.com", "not the password at all") }
            let unknown = await f.failure { try await f.login("nobody@example.com", IMSFixture.password) }
            #expect(wrong?.code == 16)
            #expect(wrong?.code == unknown?.code)
            #expect(wrong?.message == unknown?.message)
            #expect(wrong?.message == ImsService.signInFailedMessage)
            // No access token needed for the other methods: UNAUTHENTICATED without one.
            do { let status = await f.failure { try await f.ims.whoAmI(.init()) }; #expect(status?.code == 16) }
            do { let status = await f.failure { try await f.ims.logout(.init(), options: f.bearer("garbage")) }; #expect(status?.code == 16) }
        }
    }

    @Test func passwordsAreComparedInNFC() async throws {
        try await IMSFixture.with { f in
            let precomposed = "caf\u{E9} au lait, s'il vous pla\u{EE}t"
            let decomposed = "cafe\u{301} au lait, s'il vous plai\u{302}t"
            try await f.admin.createIdentity(email: "nfc@example.com", password: precomposed)
            _ = try await f.login("nfc@example.com", decomposed)
            _ = try await f.login("nfc@example.com", precomposed)
            // Addresses too: "josé" precomposed and decomposed, any case, are one address.
            try await f.admin.createIdentity(email: "jos\u{E9}@example.com", password: IMSFixture.password)
            _ = try await f.login("JOSE\u{301}@Example.com")
            var duplicate: ImsAdmin.Failure?
            do {
                try await f.admin.createIdentity(email: "jose\u{301}@example.com", password: IMSFixture.password)
            } catch let failure as ImsAdmin.Failure {
                duplicate = failure
            }
            #expect(duplicate == .alreadyExists)
        }
    }

    @Test func weakerStoredHashesAreUpgradedAtSignIn() async throws {
        try await IMSFixture.with { f in
            let weak = try PasswordHasher(parameters: .init(memoryKiB: 512, iterations: 1, parallelism: 1))
            let admin = ImsAdmin(store: f.store, keyring: f.keyring, hasher: weak)
            let identity = try await admin.createIdentity(email: "old@example.com", password: IMSFixture.password)
            let db = try f.adminConnection()
            let before = try db.query("SELECT password_hash FROM ims.identities WHERE identity_id = $1", [.uuid(identity)])[0].string(0)
            #expect(before.contains("m=512"))
            _ = try await f.login("old@example.com")
            let after = try db.query("SELECT password_hash FROM ims.identities WHERE identity_id = $1", [.uuid(identity)])[0].string(0)
            #expect(after.contains("m=1024"))
            _ = try await f.login("old@example.com")
        }
    }

    @Test func failuresLockTheAddressAndTheLockPasses() async throws {
        try await IMSFixture.with({
            $0.throttle.lockoutThreshold = 3
            $0.throttle.lockout = .seconds(2)
        }) { f in
            try await f.admin.createIdentity(email: "lock@example.com", password: IMSFixture.password)
            // A success resets the count: two failures, a success, two failures do not lock.
            for _ in 0..<2 { #expect(await f.loginFailure("lock@example.com", "wrong password 1234")?.code == 16) }
            _ = try await f.login("lock@example.com")
            for _ in 0..<2 { #expect(await f.loginFailure("lock@example.com", "wrong password 1234")?.code == 16) }
            _ = try await f.login("lock@example.com")

            for _ in 0..<3 { #expect(await f.loginFailure("lock@example.com", "wrong password 1234")?.code == 16) }
            // Locked: even the right password gets the wrong-password answer.
            let locked = await f.loginFailure("lock@example.com", IMSFixture.password)
            #expect(locked?.code == 16)
            #expect(locked?.message == ImsService.signInFailedMessage)
            // Unknown addresses lock the same way (nothing to learn from a lock).
            for _ in 0..<3 { #expect(await f.loginFailure("ghost@example.com", IMSFixture.password)?.code == 16) }
            let raw = try f.adminConnection()
            #expect(try raw.query("SELECT count(*) FROM ims.login_throttle WHERE failures = 3 AND locked_until IS NOT NULL")[0].int64(0) == 2)

            try await Task.sleep(for: .milliseconds(2_100))
            _ = try await f.login("lock@example.com")
        }
    }

    @Test func aThrottledSourceIsToldSo() async throws {
        try await IMSFixture.with({
            $0.throttle.sourceLockoutThreshold = 3
            $0.throttle.sourceLockout = .seconds(60)
        }) { f in
            try await f.admin.createIdentity(email: "src@example.com", password: IMSFixture.password)
            for index in 0..<3 { _ = await f.failure { try await f.login("user\(index)@example.com") } }
            let throttled = await f.failure { try await f.login("src@example.com") }
            #expect(throttled?.code == 8)
        }
    }

    @Test func secretsAreNotStoredInClear() async throws {
        try await IMSFixture.with { f in
            let email = "secret.person@example.com"
            try await f.admin.createIdentity(email: email, password: IMSFixture.password)
            let login = try await f.login(email, device: "Anna's very findable iPhone")
            let rotated = try await f.refresh(login.refreshToken)
            _ = await f.failure { try await f.login(email, "a wrong password here") }
            let raw = try f.adminConnection()
            var dump = ""
            for table in ["identities", "sessions", "login_throttle", "retired_refresh_tokens", "data_keys"] {
                for row in try raw.query("SELECT t::text FROM ims.\(table) t").rows { dump += try row.string(0) + "\n" }
            }
            #expect(dump.contains("\\x"))  // the rows are there, as hex
            func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
            let needles = [
                email, hex(email.utf8), login.refreshToken, rotated.refreshToken, hex(login.refreshToken.utf8),
                hex(rotated.refreshToken.utf8), hex(base64URLDecode(login.refreshToken)), hex(base64URLDecode(rotated.refreshToken)),
                IMSFixture.password, hex(IMSFixture.password.utf8), "findable", hex("findable".utf8), "127.0.0.1",
                hex("127.0.0.1".utf8), login.accessToken,
            ]
            for needle in needles {
                #expect(!dump.lowercased().contains(needle.lowercased()), "found \(needle.prefix(12))… in the ims tables")
            }
        }
    }

    @Test func unknownAddressesCostWhatWrongPasswordsCost() async throws {
        // ~10 ms of argon2id per attempt, so that the hash dominates as it does in production.
        let hasher = try PasswordHasher(parameters: .init(memoryKiB: 8_192, iterations: 2, parallelism: 1))
        try await IMSFixture.with(hasher: hasher, { $0.throttle.lockoutThreshold = 1_000 }) { f in
            try await f.admin.createIdentity(email: "timed@example.com", password: IMSFixture.password)
            var wrong: [Duration] = [], unknown: [Duration] = []
            let clock = ContinuousClock()
            for round in 0..<9 {
                let start1 = clock.now
                let a = await f.loginFailure("timed@example.com", "not the password \(round)")
                wrong.append(clock.now - start1)
                let start2 = clock.now
                let b = await f.loginFailure("nobody\(round)@example.com", "not the password \(round)")
                unknown.append(clock.now - start2)
                #expect(a?.code == 16 && b?.code == 16 && a?.message == b?.message)
            }
            let medianWrong = wrong.sorted()[4], medianUnknown = unknown.sorted()[4]
            let ratio = Double(medianUnknown.milliseconds) / Double(max(1, medianWrong.milliseconds))
            #expect(ratio > 0.5 && ratio < 2.0, "median unknown \(medianUnknown), wrong \(medianWrong)")
        }
    }

    @Test func aFullHashingQueueIsResourceExhausted() async throws {
        let slow = try PasswordHasher(parameters: .init(memoryKiB: 32_768, iterations: 3, parallelism: 1))
        try await IMSFixture.with(hasher: slow, {
            $0.maxConcurrentHashes = 1
            $0.maxWaitingHashes = 0
            $0.throttle.lockoutThreshold = 1_000
        }) { f in
            let codes = await withTaskGroup(of: UInt32?.self) { group in
                for index in 0..<6 {
                    group.addTask { await f.loginFailure("nobody\(index)@example.com", "whatever password").map(\.code) }
                }
                var codes: [UInt32?] = []
                for await code in group { codes.append(code) }
                return codes
            }
            #expect(codes.contains(8))
            #expect(codes.contains(16))
            #expect(codes.allSatisfy { $0 == 8 || $0 == 16 })
        }
    }

    @Test func theServiceRefusesTheAppRole() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let app = try await Store.open(.init(conninfo: database.appConninfo, poolSize: 1))
        defer { app.shutdown() }
        await #expect(throws: PGError.self) { try await ImsService.checkRole(app) }
        let ims = try await Store.open(.init(conninfo: database.imsConninfo, poolSize: 1))
        defer { ims.shutdown() }
        try await ImsService.checkRole(ims)
    }
}

extension Duration {
    var milliseconds: Int64 { components.seconds * 1_000 + components.attoseconds / 1_000_000_000_000_000 }
}

func base64URLDecode(_ text: String) -> [UInt8] {
    var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while base64.count % 4 != 0 { base64 += "=" }
    return Array(Data(base64Encoded: base64) ?? Data())
}
