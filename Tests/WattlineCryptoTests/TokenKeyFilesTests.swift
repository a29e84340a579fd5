import Foundation
import Testing
@testable import WattlineCrypto

@Suite("Token signing keys on disk: stage, rotate with overlap")
struct TokenKeyFilesTests {
    static let subject = "0190f5a8-0000-7000-8000-0000000000f1"
    static let other = "0190f5a8-0000-7000-8000-0000000000f2"

    @Test("a staged key verifies before it signs; after rotation the old key's tokens verify until their retention ends")
    func rotation() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wl-token-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/token-signing.key"
        _ = try MasterKeyFile.createIfMissing(path: path)
        let now: Int64 = 1_800_000_000

        let first = try TokenKeyFiles.load(path: path, now: now)
        #expect(first.staged == nil && first.retired.isEmpty)
        let oldToken = try first.issuer(issuer: "wattline", audience: "wattline").issue(subject: Self.subject, sessionID: Self.subject, roles: [], now: now)

        let stagedID = try TokenKeyFiles.stage(path: path)
        #expect(throws: CryptoError.self) { try TokenKeyFiles.stage(path: path) }
        let staged = try TokenKeyFiles.load(path: path, now: now)
        #expect(staged.current.keyID == first.current.keyID)
        #expect(Set(staged.verificationKeys(now: now).keys) == [first.current.keyID, stagedID])

        let (retired, current) = try TokenKeyFiles.rotate(path: path, now: now)
        #expect(retired == first.current.keyID && current == stagedID)
        let rotated = try TokenKeyFiles.load(path: path, now: now + 60)
        #expect(rotated.current.keyID == stagedID && rotated.staged == nil)
        let verifier = try AccessTokenVerifier(keys: rotated.verificationKeys(now: now + 60), issuer: "wattline", audience: "wattline")
        #expect(try verifier.verify(oldToken.value, now: now + 60).subject == Self.subject)
        let newToken = try rotated.issuer(issuer: "wattline", audience: "wattline").issue(subject: Self.other, sessionID: Self.other, roles: [], now: now + 60)
        #expect(try verifier.verify(newToken.value, now: now + 60).subject == Self.other)

        // Past the retention the old key is gone from the ring and its tokens fail.
        let later = now + SigningKeyRing.defaultRetention.components.seconds + 1
        let pruned = try TokenKeyFiles.load(path: path, now: later)
        #expect(pruned.retired.isEmpty && pruned.verificationKeys(now: later).keys.sorted() == [stagedID])
        #expect(throws: CryptoError.self) { try TokenKeyFiles.rotate(path: path, now: later) }  // nothing staged
    }

    @Test("a malformed retired list is refused, not ignored")
    func malformed() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("wl-token-keys-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let path = directory + "/token-signing.key"
        _ = try MasterKeyFile.createIfMissing(path: path)
        try "not a key line\n".write(toFile: TokenKeyFiles.retiredPath(path), atomically: true, encoding: .utf8)
        #expect(throws: CryptoError.self) { try TokenKeyFiles.load(path: path, now: 0) }
    }
}
