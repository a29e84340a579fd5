import Foundation
import Testing
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire
@testable import WattlineTenancy

@Suite("Registration and concurrency")
struct RegistrationTests {
    @Test("every tenant, site, membership and meter method is registered, and each has an access declaration")
    func registration() async throws {
        try await Fixture.with { f in
            var router = Router()
            f.services.register(in: &router)
            let expected = [
                "TenantService/CreateTenant", "TenantService/GetTenant", "TenantService/ListTenants", "TenantService/UpdateTenant",
                "TenantService/RequestTenantOffboarding", "TenantService/CancelTenantOffboarding",
                "SiteService/CreateSite", "SiteService/GetSite", "SiteService/ListSites", "SiteService/UpdateSite",
                "SiteService/SetSiteResponsible",
                "MembershipService/ListMemberships", "MembershipService/GrantMembership",
                "MembershipService/ChangeMembershipRole", "MembershipService/RevokeMembership",
                "MeterService/CreateMeter", "MeterService/GetMeter", "MeterService/ListMeters", "MeterService/UpdateMeter",
                "MeterService/CreateChannel", "MeterService/GetChannel", "MeterService/ListChannels", "MeterService/UpdateChannel",
            ].map { "/wattline.tenancy.v1." + $0 }
            #expect(router.paths == expected.sorted())
            let undeclared = router.paths.filter { AccessPolicy.permissions[$0] == nil }
            #expect(undeclared.isEmpty)
        }
    }

    @Test("two owners leaving at once leave one owner behind")
    func concurrentLastOwner() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let first = try await f.member(tenant, .owner)
            let second = try await f.member(tenant, .owner)
            func leave(_ id: UUID) async -> CallFailure? {
                var request = TenancyV1.RevokeMembershipRequest()
                request.tenantID = tenant.bytes
                request.identityID = id.bytes
                let context = f.context(f.person(id, .owner, in: tenant), tenant: tenant)
                return await failure { try await f.memberships.revokeMembership(request, context) }
            }
            async let a = leave(first)
            async let b = leave(second)
            let outcomes = await [a, b]
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.compactMap { $0?.code } == [Status.failedPrecondition])
            let owners = try await f.store.transaction(tenant: TenantID(tenant)) { tx in
                try tx.query("SELECT count(*) FROM wattline.memberships WHERE role = 'owner'")[0].int64(0)
            }
            #expect(owners == 1)
        }
    }

    @Test("concurrent channels of one tenant get distinct ids")
    func concurrentChannels() async throws {
        try await Fixture.with { f in
            let s = try await MeterSetup.make(f)
            let meter = try await s.createMeter(f, address: 1)
            let ids = try await withThrowingTaskGroup(of: UInt64.self) { group in
                for index in 0..<8 {
                    group.addTask { try await s.createChannel(f, meter, name: "C\(index)").channelID }
                }
                return try await group.reduce(into: [UInt64]()) { $0.append($1) }
            }
            #expect(ids.sorted() == Array(1...8))
        }
    }
}
