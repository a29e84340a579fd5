import Foundation
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos

@Suite(.serialized) struct PeopleAtRestTests {
    /// After an invitation, a registration with a profile, a profile change and a password reset,
    /// the ims tables hold none of the addresses, names, phone numbers or tokens in clear; the
    /// invitation and reset tokens are there only as SHA-256 of their bytes.
    @Test func addressesProfilesAndTokensAreNotStoredInClear() async throws {
        try await IMSFixture.with(interceptor: true, { $0.resetAnswerTime = .zero }) { f in
            let tenant = newID()
            let owner = try await f.person("boss.findable@example.com", tenant: tenant, role: .owner)
            let invited = try await f.invite("invitee.findable@example.com", to: tenant, as: .viewer, by: owner.login)
            let pending = try await f.invite("pending.findable@example.com", to: tenant, as: .viewer, by: owner.login)
            _ = try await f.register(invited.invitationToken, name: "Zebediah Findable", phone: "+41449876543", locale: "fr-CH")
            let login = try await f.login("invitee.findable@example.com")
            _ = try await f.ims.updateProfile(.with { $0.phoneUpdate = .phone("+41445550199") }, options: f.bearer(login.accessToken))
            _ = try await f.ims.requestPasswordReset(.with { $0.email = "invitee.findable@example.com" })
            let reset = try #require(f.notifier.resets.first)

            let raw = try f.adminConnection()
            var dump = ""
            for table in ["identities", "sessions", "invitations", "password_resets", "reset_throttle", "login_throttle"] {
                for row in try raw.query("SELECT t::text FROM ims.\(table) t").rows { dump += try row.string(0) + "\n" }
            }
            func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02x", $0) }.joined() }
            var needles = ["findable", "Zebediah", "9876543", "5550199", "fr-CH"]
            for token in [invited.invitationToken, pending.invitationToken, reset.token] {
                needles += [token, hex(token.utf8), hex(base64URLDecode(token))]
            }
            for needle in needles {
                #expect(!dump.lowercased().contains(needle.lowercased()), "found \(needle.prefix(12))… in the ims tables")
                #expect(!dump.lowercased().contains(hex(needle.utf8)), "found \(needle.prefix(12))… as hex in the ims tables")
            }
            // The tokens' SHA-256 is what is stored.
            for (table, token) in [("invitations", pending.invitationToken), ("password_resets", reset.token)] {
                let digest = try sha256(base64URLDecode(token))
                let found = try raw.query("SELECT count(*) FROM ims.\(table) WHERE token_hash = $1", [.bytea(digest)])[0].int64(0)
                #expect(found == 1, "\(table)")
            }
        }
    }
}
