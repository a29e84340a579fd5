import Foundation
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos

@Suite(.serialized) struct RoleTests {
    @Test func rolesFromTheDirectoryAreInTheTokenAndInWhoAmI() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let (tenantA, tenantB, site) = (newID(), newID(), newID())
            let id = try await f.admin.createIdentity(email: "roles@example.com", password: IMSFixture.password, platformOperator: true)
            f.tenants.setMember(id, tenantA, .admin)
            f.tenants.setMember(id, tenantB, .viewer)
            f.tenants.setResponsible(id, sites: [site], in: tenantA)
            let login = try await f.login("roles@example.com")
            let claims = try f.verifier.verify(login.accessToken)
            #expect(Set(claims.roles) == [
                "tenant:\(tenantA.text):admin", "tenant:\(tenantB.text):viewer", "site:\(tenantA.text):\(site.text):responsible", "platform:operator",
            ])
            let me = try await f.ims.whoAmI(.init(), options: f.bearer(login.accessToken))
            #expect(me.principalKind == .person)
            #expect(me.platformOperator)
            let roles = Dictionary(uniqueKeysWithValues: me.tenantRoles.map { (UUID(testBytes: $0.tenantID)!, $0.role) })
            #expect(roles == [tenantA: .admin, tenantB: .viewer])
            #expect(me.siteResponsibilities.map(\.siteID) == [site.testBytes])
            #expect(me.siteResponsibilities.map(\.tenantID) == [tenantA.testBytes])

            // A role change reaches the next token (refresh), not the current one.
            f.tenants.setMember(id, tenantB, nil)
            f.tenants.setMember(id, tenantA, .owner)
            let refreshed = try await f.refresh(login.refreshToken)
            let next = try f.verifier.verify(refreshed.accessToken)
            #expect(next.roles.contains("tenant:\(tenantA.text):owner"))
            #expect(!next.roles.contains { $0.hasPrefix("tenant:\(tenantB.text)") })
            let after = try await f.ims.whoAmI(.init(), options: f.bearer(refreshed.accessToken))
            #expect(after.tenantRoles.count == 1)
            #expect(after.tenantRoles.first?.role == .owner)
            // The interceptor authorizes with the token's grants: owner now may invite an owner.
            _ = try await f.invite("co-owner@example.com", to: tenantA, as: .owner, by: .with { $0.accessToken = refreshed.accessToken })
        }
    }

    @Test func aPersonWithoutMembershipsGetsNoTenantRoles() async throws {
        try await IMSFixture.with { f in
            let person = try await f.person("alone@example.com")
            let claims = try f.verifier.verify(person.login.accessToken)
            #expect(claims.roles.isEmpty)
            let me = try await f.ims.whoAmI(.init(), options: f.bearer(person.login.accessToken))
            #expect(me.tenantRoles.isEmpty)
            #expect(me.siteResponsibilities.isEmpty)
            #expect(!me.platformOperator)
        }
    }
}
