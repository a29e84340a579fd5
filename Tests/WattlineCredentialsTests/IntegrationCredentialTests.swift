import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

@Suite(.serialized) struct IntegrationCredentialTests {
    func issue(_ fixture: Fixture, _ tenant: UUID, role: ImsV1.Role = .viewer, expiresAtMs: Int64 = 0) async throws
        -> (credential: ImsV1.IntegrationCredential, secret: String)
    {
        var request = ImsV1.IssueIntegrationCredentialRequest()
        request.tenantID = tenant.bytes
        request.name = "Building management system"
        request.role = role
        request.expiresAtMs = expiresAtMs
        let response = try await fixture.integrations.issueCredential(request, admin(tenant))
        return (try #require(response.credential), response.clientSecret)
    }

    func exchange(_ fixture: Fixture, id: [UInt8], secret: String, source: String = "[IPv4]192.0.2.1/192.0.2.1:4000") async throws
        -> ImsV1.ExchangeClientCredentialsResponse
    {
        var request = ImsV1.ExchangeClientCredentialsRequest()
        request.credentialID = id
        request.clientSecret = secret
        let context = CallContext(
            method: ImsV1.IntegrationCredentialService.ExchangeClientCredentials.path, kind: .unary, deadline: nil, metadata: [],
            authorization: "", peer: PeerIdentity(remoteAddress: source))
        return try await fixture.integrations.exchange(request, context)
    }

    @Test func issueExchangeVerifyRevoke() async throws {
        try await Fixture.with { fixture in
            let (tenant, _) = try await fixture.makeTenant()
            let (credential, secret) = try await issue(fixture, tenant, role: .technician)
            #expect(secret.hasPrefix("wlcs_") && secret.utf8.count == 48)
            #expect(credential.secretPrefix == String(secret.prefix(11)))
            #expect(credential.role == .technician && credential.name == "Building management system")
            #expect(credential.tenantID == tenant.bytes && credential.createdByIdentityID.count == 16)
            #expect(credential.lastUsedAtMs == 0 && credential.revokedAtMs == 0 && credential.expiresAtMs == 0)
            let id = try #require(UUID(bytes: credential.credentialID))

            let exchanged = try await exchange(fixture, id: credential.credentialID, secret: secret)
            let claims = try fixture.verifier.verify(exchanged.accessToken)
            #expect(claims.subject == id.text && claims.sessionID == id.text && claims.tenantID == tenant.text)
            #expect(claims.roles == ["tenant:\(tenant.text):technician"])
            #expect(claims.scope == AccessInterceptor.integrationScope)
            #expect(exchanged.accessTokenExpiresAtMs == claims.expiresAt * 1_000)
            #expect(Grants(roleStrings: claims.roles).tenantRoles[tenant.text] == .technician)

            // The directory: this credential's tokens count; a person's session is not its business.
            #expect(try await fixture.registry.isIntegrationRevoked(credentialID: id.text) == false)
            #expect(try await fixture.registry.integrationRevoked(credentialID: UUID().uuidString.lowercased()) == nil)
            let sessionsAsked = SessionLog()
            let directory = fixture.registry.directory { sessionID in
                await sessionsAsked.append(sessionID)
                return false
            }
            #expect(try await directory.isSessionRevoked(id.text) == false)
            let personSession = UUID().uuidString.lowercased()
            #expect(try await directory.isSessionRevoked(personSession) == false)
            #expect(await sessionsAsked.ids == [personSession])

            // Listing shows the use; revoking ends the tokens at once, here and (from the database) elsewhere.
            var list = ImsV1.ListIntegrationCredentialsRequest()
            list.tenantID = tenant.bytes
            let listed = try await fixture.integrations.listCredentials(list, admin(tenant)).credentials
            #expect(listed.count == 1 && listed.first?.lastUsedAtMs ?? 0 > 0 && listed.first?.name == "Building management system")
            let otherNode = CredentialRegistry(store: fixture.store)
            #expect(try await otherNode.isIntegrationRevoked(credentialID: id.text) == false)
            var revoke = ImsV1.RevokeIntegrationCredentialRequest()
            revoke.tenantID = tenant.bytes
            revoke.credentialID = credential.credentialID
            let revoked = try #require(try await fixture.integrations.revokeCredential(revoke, admin(tenant)).credential)
            #expect(revoked.revokedAtMs > 0)
            #expect(try await fixture.registry.isIntegrationRevoked(credentialID: id.text))
            #expect(try await directory.isSessionRevoked(id.text))
            #expect(try await CredentialRegistry(store: fixture.store).isIntegrationRevoked(credentialID: id.text))
            let again = try #require(try await fixture.integrations.revokeCredential(revoke, admin(tenant)).credential)
            #expect(again.revokedAtMs == revoked.revokedAtMs)
            let refused = await failure { _ = try await exchange(fixture, id: credential.credentialID, secret: secret) }
            #expect(refused == CallFailure.unauthenticated(IntegrationCredentialService.exchangeFailedMessage))
            // Revoked ones are listed only on request.
            #expect(try await fixture.integrations.listCredentials(list, admin(tenant)).credentials.isEmpty)
            list.includeRevoked = true
            #expect(try await fixture.integrations.listCredentials(list, admin(tenant)).credentials.count == 1)
        }
    }

    @Test func everyFailedExchangeAnswersAlike() async throws {
        try await Fixture.with { fixture in
            let (tenant, _) = try await fixture.makeTenant()
            let (credential, secret) = try await issue(fixture, tenant)
            let (other, otherSecret) = try await issue(fixture, tenant)
            let (expiring, expiringSecret) = try await issue(fixture, tenant, expiresAtMs: Clock.nowMs() + 500)
            try await Task.sleep(for: .milliseconds(700))
            var wrongSecret = Array(secret.utf8)
            wrongSecret[20] = wrongSecret[20] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
            let attempts: [(String, [UInt8], String)] = [
                ("wrong secret", credential.credentialID, String(decoding: wrongSecret, as: UTF8.self)),
                ("unknown credential", UUID().bytes, secret),
                ("another credential's secret", credential.credentialID, otherSecret),
                ("secret of a credential, id of another", other.credentialID, secret),
                ("expired", expiring.credentialID, expiringSecret),
                ("malformed id", [1, 2, 3], secret),
                ("empty secret", credential.credentialID, ""),
                ("a logger secret's shape", credential.credentialID, "wlls_" + secret.dropFirst(5)),
            ]
            let expected = CallFailure.unauthenticated(IntegrationCredentialService.exchangeFailedMessage)
            for (index, (name, id, presented)) in attempts.enumerated() {
                // A source each, so that throttling stays out of it.
                let refused = await failure {
                    _ = try await exchange(fixture, id: id, secret: presented, source: "[IPv4]198.51.100.\(index)/198.51.100.\(index):4000")
                }
                #expect(refused == expected, "\(name)")
            }
            // And the right pair still works.
            let exchanged = try await exchange(fixture, id: credential.credentialID, secret: secret)
            #expect(!exchanged.accessToken.isEmpty)
        }
    }

    @Test func failedExchangesAreThrottledPerSourceAndCredential() async throws {
        try await Fixture.with { fixture in
            let (tenant, _) = try await fixture.makeTenant()
            let (credential, secret) = try await issue(fixture, tenant)
            let (other, otherSecret) = try await issue(fixture, tenant)
            for _ in 0..<5 {
                _ = await failure { _ = try await exchange(fixture, id: UUID().bytes, secret: secret, source: "[IPv4]203.0.113.9/203.0.113.9:1") }
            }
            let throttledSource = await failure {
                _ = try await exchange(fixture, id: credential.credentialID, secret: secret, source: "[IPv4]203.0.113.9/203.0.113.9:2")
            }
            #expect(throttledSource?.code == 8)
            // Other sources are not affected.
            _ = try await exchange(fixture, id: credential.credentialID, secret: secret, source: "[IPv4]203.0.113.10/203.0.113.10:1")
            // Failures for one credential id from many sources throttle that id.
            for index in 0..<5 {
                _ = await failure {
                    _ = try await exchange(fixture, id: other.credentialID, secret: secret, source: "[IPv4]192.0.2.\(index + 20)/192.0.2.\(index + 20):1")
                }
            }
            let throttledCredential = await failure {
                _ = try await exchange(fixture, id: other.credentialID, secret: otherSecret, source: "[IPv4]192.0.2.99/192.0.2.99:1")
            }
            #expect(throttledCredential?.code == 8)
        }
    }

    @Test func issueChecksRoleNameAndExpiry() async throws {
        try await Fixture.with { fixture in
            let (tenant, _) = try await fixture.makeTenant()
            for role in [ImsV1.Role.owner, .admin, .unspecified, .unrecognized(9)] {
                let refused = await failure { _ = try await issue(fixture, tenant, role: role) }
                #expect(refused?.code == 3, "\(role)")
            }
            let past = await failure { _ = try await issue(fixture, tenant, expiresAtMs: Clock.nowMs() - 1) }
            #expect(past?.code == 3)
            var request = ImsV1.IssueIntegrationCredentialRequest()
            request.tenantID = tenant.bytes
            request.role = .viewer
            for name in ["", String(repeating: "n", count: 101), "BMS\u{0}"] {
                request.name = name
                let refused = await failure { _ = try await fixture.integrations.issueCredential(request, admin(tenant)) }
                #expect(refused?.code == 3)
            }
        }
    }

    @Test func listPagesNewestFirst() async throws {
        try await Fixture.with { fixture in
            let (tenant, _) = try await fixture.makeTenant()
            var issued: [[UInt8]] = []
            for _ in 0..<3 {
                issued.append(try await issue(fixture, tenant).credential.credentialID)
                try await Task.sleep(for: .milliseconds(2))
            }
            var list = ImsV1.ListIntegrationCredentialsRequest()
            list.tenantID = tenant.bytes
            list.pageSize = 2
            let first = try await fixture.integrations.listCredentials(list, admin(tenant))
            #expect(first.credentials.map(\.credentialID) == [issued[2], issued[1]])
            list.pageToken = first.nextPageToken
            let second = try await fixture.integrations.listCredentials(list, admin(tenant))
            #expect(second.credentials.map(\.credentialID) == [issued[0]])
            #expect(second.nextPageToken.isEmpty)
        }
    }
}

actor SessionLog {
    var ids: [String] = []
    func append(_ id: String) { ids.append(id) }
}
