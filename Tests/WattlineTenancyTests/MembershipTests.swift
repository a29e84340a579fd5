import Foundation
import Testing
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire
@testable import WattlineTenancy

@Suite("Memberships")
struct MembershipTests {
    func grant(_ f: Fixture, _ tenant: UUID, _ identity: UUID, _ role: TenancyV1.Role, as caller: Principal) async throws
        -> TenancyV1.Membership {
        var request = TenancyV1.GrantMembershipRequest()
        request.tenantID = tenant.bytes
        request.identityID = identity.bytes
        request.role = role
        return try #require(try await f.memberships.grantMembership(request, f.context(caller, tenant: tenant)).membership)
    }

    func change(_ f: Fixture, _ tenant: UUID, _ identity: UUID, _ role: TenancyV1.Role, as caller: Principal) async throws
        -> TenancyV1.Membership? {
        var request = TenancyV1.ChangeMembershipRoleRequest()
        request.tenantID = tenant.bytes
        request.identityID = identity.bytes
        request.role = role
        return try await f.memberships.changeMembershipRole(request, f.context(caller, tenant: tenant)).membership
    }

    func revoke(_ f: Fixture, _ tenant: UUID, _ identity: UUID, as caller: Principal) async throws {
        var request = TenancyV1.RevokeMembershipRequest()
        request.tenantID = tenant.bytes
        request.identityID = identity.bytes
        _ = try await f.memberships.revokeMembership(request, f.context(caller, tenant: tenant))
    }

    @Test("an admin grants roles to existing identities, once; only owners grant ownership")
    func granting() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let owner = try await f.member(tenant, .owner, name: "Olga")
            let admin = try await f.member(tenant, .admin, name: "Adam")
            let newcomer = UUID.v7()
            f.people.add(newcomer, email: "nina@example.com", displayName: "Nina")

            let unknown = await failure { try await grant(f, tenant, UUID.v7(), .viewer, as: f.person(admin)) }
            #expect(unknown?.code == Status.notFound)
            let unspecified = await failure { try await grant(f, tenant, newcomer, .unspecified, as: f.person(admin)) }
            #expect(unspecified?.code == Status.invalidArgument)
            let adminGrantsOwner = await failure { try await grant(f, tenant, newcomer, .owner, as: f.person(admin)) }
            #expect(adminGrantsOwner?.code == Status.permissionDenied)

            let granted = try await grant(f, tenant, newcomer, .technician, as: f.person(admin))
            #expect(granted.role == .technician)
            #expect(granted.email == "nina@example.com" && granted.displayName == "Nina")
            #expect(granted.grantedByIdentityID == admin.bytes)
            #expect(granted.grantedAtMs > 0)
            let again = await failure { try await grant(f, tenant, newcomer, .viewer, as: f.person(admin)) }
            #expect(again?.code == Status.alreadyExists)

            let second = UUID.v7()
            f.people.add(second, email: "otto@example.com", displayName: "Otto")
            #expect(try await grant(f, tenant, second, .owner, as: f.person(owner)).role == .owner)
            let third = UUID.v7()
            f.people.add(third, email: "pia@example.com", displayName: "Pia")
            #expect(try await grant(f, tenant, third, .owner, as: f.platformOperator).role == .owner)
        }
    }

    @Test("only owners change ownership, and the last owner cannot be demoted")
    func changingRoles() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let owner = try await f.member(tenant, .owner)
            let admin = try await f.member(tenant, .admin)
            let viewer = try await f.member(tenant, .viewer)

            #expect(try await change(f, tenant, viewer, .technician, as: f.person(admin))?.role == .technician)
            await expectFailure(Status.permissionDenied) { try await change(f, tenant, viewer, .owner, as: f.person(admin)) }
            await expectFailure(Status.permissionDenied) { try await change(f, tenant, owner, .viewer, as: f.person(admin)) }
            await expectFailure(Status.failedPrecondition) { try await change(f, tenant, owner, .admin, as: f.person(owner)) }
            await expectFailure(Status.notFound) { try await change(f, tenant, UUID.v7(), .admin, as: f.person(owner)) }

            #expect(try await change(f, tenant, admin, .owner, as: f.person(owner))?.role == .owner)
            #expect(try await change(f, tenant, owner, .viewer, as: f.person(admin))?.role == .viewer)
            // The demoted owner's token may still say owner; the store decides.
            let stale = f.person(owner, .owner, in: tenant)
            await expectFailure(Status.permissionDenied) { try await change(f, tenant, viewer, .owner, as: stale) }
        }
    }

    @Test("members leave, admins remove non-owners, owners remove anyone, the last owner stays")
    func revoking() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let owner = try await f.member(tenant, .owner)
            let admin = try await f.member(tenant, .admin)
            let viewer = try await f.member(tenant, .viewer)
            let leaver = try await f.member(tenant, .viewer)
            let technician = try await f.member(tenant, .technician)

            await expectFailure(Status.permissionDenied) { try await revoke(f, tenant, technician, as: f.person(viewer)) }
            await expectFailure(Status.permissionDenied) { try await revoke(f, tenant, owner, as: f.person(admin)) }
            await expectFailure(Status.failedPrecondition) { try await revoke(f, tenant, owner, as: f.person(owner)) }
            await expectFailure(Status.notFound) { try await revoke(f, tenant, UUID.v7(), as: f.person(admin)) }

            try await revoke(f, tenant, leaver, as: f.person(leaver))
            try await revoke(f, tenant, technician, as: f.person(admin))
            try await revoke(f, tenant, viewer, as: f.person(owner))
            #expect(try await f.directory.role(ofIdentity: leaver.lowercased, inTenant: tenant.lowercased) == nil)
            #expect(try await f.directory.roleStrings(ofIdentity: technician.lowercased).isEmpty)

            // With a second owner, an owner may leave, and may remove the other owner.
            _ = try await change(f, tenant, admin, .owner, as: f.person(owner))
            try await revoke(f, tenant, owner, as: f.person(owner))
            await expectFailure(Status.failedPrecondition) { try await revoke(f, tenant, admin, as: f.person(admin)) }
            let remaining = try await f.memberships.listMemberships(.with { $0.tenantID = tenant.bytes },
                                                                     f.context(f.person(admin), tenant: tenant))
            #expect(remaining.memberships.map(\.identityID) == [admin.bytes])
        }
    }

    @Test("a site's Responsible cannot be removed until another is appointed")
    func responsibleStays() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let owner = try await f.member(tenant, .owner)
            let responsible = try await f.member(tenant, .viewer)
            let site = try await f.createSite(tenant, "Plant Nord", responsible: responsible, as: f.person(owner))
            let blocked = await failure { try await revoke(f, tenant, responsible, as: f.person(owner)) }
            #expect(blocked?.code == Status.failedPrecondition)
            #expect(blocked?.message.contains("\"Plant Nord\"") == true)
            let leaving = await failure { try await revoke(f, tenant, responsible, as: f.person(responsible)) }
            #expect(leaving?.code == Status.failedPrecondition)

            var appoint = TenancyV1.SetSiteResponsibleRequest()
            appoint.tenantID = tenant.bytes
            appoint.siteID = site.siteID
            appoint.identityID = owner.bytes
            _ = try await f.sites.setSiteResponsible(appoint, f.context(f.person(owner), tenant: tenant))
            try await revoke(f, tenant, responsible, as: f.person(responsible))
        }
    }

    @Test("memberships list by display name with e-mail, role filter and Responsible sites, page by page")
    func listing() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let carla = try await f.member(tenant, .owner, name: "Carla")
            let anna = try await f.member(tenant, .viewer, name: "anna")
            let bert = try await f.member(tenant, .viewer, name: "Bert")
            let site = try await f.createSite(tenant, "Plant", responsible: bert, as: f.person(carla))
            let caller = f.context(f.person(anna), tenant: tenant)
            var request = TenancyV1.ListMembershipsRequest()
            request.tenantID = tenant.bytes
            request.pageSize = 2
            let first = try await f.memberships.listMemberships(request, caller)
            #expect(first.memberships.map(\.displayName) == ["anna", "Bert"])
            #expect(first.memberships.map(\.email) == ["anna@example.com", "bert@example.com"])
            #expect(first.memberships[1].responsibleSiteIDs == [site.siteID])
            #expect(first.memberships[0].responsibleSiteIDs.isEmpty)
            request.pageToken = first.nextPageToken
            let second = try await f.memberships.listMemberships(request, caller)
            #expect(second.memberships.map(\.identityID) == [carla.bytes])
            #expect(second.memberships.first?.role == .owner)
            #expect(second.nextPageToken.isEmpty)

            request = TenancyV1.ListMembershipsRequest()
            request.tenantID = tenant.bytes
            request.role = .viewer
            let viewers = try await f.memberships.listMemberships(request, caller)
            #expect(Set(viewers.memberships.map(\.identityID)) == [anna.bytes, bert.bytes])
        }
    }

    @Test("the directory reports roles and adds members from invitations once")
    func directory() async throws {
        try await Fixture.with { f in
            let a = try await f.createTenant("A")
            let b = try await f.createTenant("B")
            let person = UUID.v7()
            let inviter = UUID.v7()
            #expect(try await f.directory.addMember(tenantID: a.lowercased, identityID: person.lowercased, role: .admin,
                                                    grantedBy: inviter.lowercased))
            #expect(try await f.directory.addMember(tenantID: a.lowercased, identityID: person.lowercased, role: .viewer,
                                                    grantedBy: nil) == false)
            #expect(try await f.directory.addMember(tenantID: b.lowercased, identityID: person.lowercased, role: .viewer,
                                                    grantedBy: nil))
            #expect(try await f.directory.role(ofIdentity: person.lowercased, inTenant: a.lowercased) == .admin)
            let roles = try await f.directory.roleStrings(ofIdentity: person.lowercased)
            #expect(Set(roles) == ["tenant:\(a.lowercased):admin", "tenant:\(b.lowercased):viewer"])
            #expect(Grants(roleStrings: roles).tenantRoles == [a.lowercased: .admin, b.lowercased: .viewer])
            let missing = UUID.v7()
            var refused: TenantDirectoryError?
            do {
                _ = try await f.directory.addMember(tenantID: missing.lowercased, identityID: person.lowercased, role: .viewer, grantedBy: nil)
            } catch let error as TenantDirectoryError {
                refused = error
            }
            #expect(refused == .noSuchTenant)
        }
    }
}
