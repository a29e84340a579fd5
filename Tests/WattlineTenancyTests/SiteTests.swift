import Foundation
import Testing
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire
@testable import WattlineTenancy

@Suite("Sites")
struct SiteTests {
    @Test("an admin creates a site with a member as Responsible; name and address are stored sealed")
    func create() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            let site = try await f.createSite(tenant, "Plant Nord", responsible: admin)
            #expect(site.name == "Plant Nord")
            #expect(site.tenantID == tenant.bytes)
            #expect(site.address == Fixture.address)
            #expect(site.timeZone == "Europe/Zurich")
            #expect(site.responsibleIdentityID == admin.bytes)
            #expect(site.createdAtMs > 0)

            let id = try #require(UUID(bytes: site.siteID))
            let name = try f.rawBytes("SELECT name_enc FROM wattline.sites WHERE site_id = $1", [.uuid(id)])
            let address = try f.rawBytes("SELECT address_enc FROM wattline.sites WHERE site_id = $1", [.uuid(id)])
            #expect(!String(decoding: name, as: UTF8.self).contains("Plant"))
            #expect(!String(decoding: address, as: UTF8.self).contains("Bahnhofstrasse"))

            let read = try await f.sites.getSite(.with { $0.siteID = site.siteID; $0.tenantID = tenant.bytes },
                                                 f.context(f.person(admin), tenant: tenant))
            #expect(read.site == site)
        }
    }

    @Test("site fields are validated", arguments: [
        ("", "Europe/Zurich"), ("Plant\u{7}", "Europe/Zurich"), (String(repeating: "n", count: 101), "Europe/Zurich"),
        ("Plant", ""), ("Plant", "Mars/Olympus"), ("Plant", "GMT+5"), ("Plant", "europe/zurich"),
    ])
    func validation(name: String, timeZone: String) async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            var request = TenancyV1.CreateSiteRequest()
            request.tenantID = tenant.bytes
            request.name = name
            request.address = Fixture.address
            request.timeZone = timeZone
            request.responsibleIdentityID = admin.bytes
            let failed = await failure { try await f.sites.createSite(request, f.context(f.person(admin), tenant: tenant)) }
            #expect(failed?.code == Status.invalidArgument)
        }
    }

    @Test("addresses and Responsibles are validated")
    func addressAndResponsible() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            let caller = f.context(f.person(admin), tenant: tenant)
            var request = TenancyV1.CreateSiteRequest()
            request.tenantID = tenant.bytes
            request.name = "Plant"
            request.timeZone = "UTC"
            request.responsibleIdentityID = admin.bytes
            await expectFailure(Status.invalidArgument) { try await f.sites.createSite(request, caller) }  // no address
            request.address = .with { $0.lines = []; $0.countryCode = "CH" }
            await expectFailure(Status.invalidArgument) { try await f.sites.createSite(request, caller) }
            request.address = .with { $0.lines = ["a", "b", "c", "d", "e"]; $0.countryCode = "CH" }
            await expectFailure(Status.invalidArgument) { try await f.sites.createSite(request, caller) }
            request.address = .with { $0.lines = ["Street 1"]; $0.countryCode = "QQ" }
            await expectFailure(Status.invalidArgument) { try await f.sites.createSite(request, caller) }
            request.address = Fixture.address
            request.responsibleIdentityID = [1, 2, 3]
            await expectFailure(Status.invalidArgument) { try await f.sites.createSite(request, caller) }
            // Somebody who holds no role in the tenant cannot be its Responsible.
            request.responsibleIdentityID = UUID.v7().bytes
            await expectFailure(Status.failedPrecondition) { try await f.sites.createSite(request, caller) }
            request.responsibleIdentityID = admin.bytes
            #expect(try await f.sites.createSite(request, caller).site?.timeZone == "UTC")
        }
    }

    @Test("names are unique within a tenant, ignoring case, and free across tenants")
    func uniqueNames() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            _ = try await f.createSite(tenant, "Plant Nord", responsible: admin)
            let second = try await f.createSite(tenant, "Plant Süd", responsible: admin)
            var request = TenancyV1.CreateSiteRequest()
            request.tenantID = tenant.bytes
            request.name = "plant nord"
            request.address = Fixture.address
            request.timeZone = "Europe/Zurich"
            request.responsibleIdentityID = admin.bytes
            let caller = f.context(f.person(admin), tenant: tenant)
            await expectFailure(Status.alreadyExists) { try await f.sites.createSite(request, caller) }

            var rename = TenancyV1.UpdateSiteRequest()
            rename.tenantID = tenant.bytes
            rename.siteID = second.siteID
            rename.nameUpdate = .name("PLANT NORD")
            await expectFailure(Status.alreadyExists) { try await f.sites.updateSite(rename, caller) }
            rename.nameUpdate = .name("Plant süd")  // its own name in other capitals
            #expect(try await f.sites.updateSite(rename, caller).site?.name == "Plant süd")

            let other = try await f.createTenant("Other")
            let otherAdmin = try await f.member(other, .admin)
            #expect(try await f.createSite(other, "Plant Nord", responsible: otherAdmin).name == "Plant Nord")
        }
    }

    @Test("another tenant's site is not found, even by its id")
    func crossTenant() async throws {
        try await Fixture.with { f in
            let a = try await f.createTenant("A")
            let b = try await f.createTenant("B")
            let adminA = try await f.member(a, .admin)
            let adminB = try await f.member(b, .admin)
            let site = try await f.createSite(a, "Secret", responsible: adminA)
            let inB = f.context(f.person(adminB), tenant: b)
            let get = await failure { try await f.sites.getSite(.with { $0.siteID = site.siteID; $0.tenantID = b.bytes }, inB) }
            #expect(get?.code == Status.notFound)
            var update = TenancyV1.UpdateSiteRequest()
            update.tenantID = b.bytes
            update.siteID = site.siteID
            update.timeZoneUpdate = .timeZone("UTC")
            await expectFailure(Status.notFound) { try await f.sites.updateSite(update, inB) }
            var responsible = TenancyV1.SetSiteResponsibleRequest()
            responsible.tenantID = b.bytes
            responsible.siteID = site.siteID
            responsible.identityID = adminB.bytes
            await expectFailure(Status.notFound) { try await f.sites.setSiteResponsible(responsible, inB) }
            let listed = try await f.sites.listSites(.with { $0.tenantID = b.bytes }, inB)
            #expect(listed.sites.isEmpty)
        }
    }

    @Test("sites list by name, page by page")
    func listing() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            for name in ["Gamma", "alpha", "Beta", "delta", "Epsilon"] { _ = try await f.createSite(tenant, name, responsible: admin) }
            let caller = f.context(f.person(admin), tenant: tenant)
            var request = TenancyV1.ListSitesRequest()
            request.tenantID = tenant.bytes
            request.pageSize = 2
            var names: [String] = []
            var pages = 0
            repeat {
                let page = try await f.sites.listSites(request, caller)
                names += page.sites.map(\.name)
                request.pageToken = page.nextPageToken
                pages += 1
            } while !request.pageToken.isEmpty && pages < 10
            #expect(names == ["alpha", "Beta", "delta", "Epsilon", "Gamma"])
            #expect(pages == 3)

            // A token of another listing is refused.
            let tenants = try await f.tenants.listTenants(.with { $0.allTenants = true; $0.pageSize = 1 }, f.context(f.platformOperator))
            _ = try await f.createTenant("Second")
            let tenantToken = try await f.tenants.listTenants(.with { $0.allTenants = true; $0.pageSize = 1 }, f.context(f.platformOperator))
            #expect(tenants.tenants.count == 1 && !tenantToken.nextPageToken.isEmpty)
            request.pageToken = tenantToken.nextPageToken
            await expectFailure(Status.invalidArgument) { try await f.sites.listSites(request, caller) }
        }
    }

    @Test("update changes only the fields set")
    func update() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            let site = try await f.createSite(tenant, "Plant", responsible: admin)
            var request = TenancyV1.UpdateSiteRequest()
            request.tenantID = tenant.bytes
            request.siteID = site.siteID
            request.timeZoneUpdate = .timeZone("America/New_York")
            request.addressUpdate = .address(.with { $0.lines = ["1 Main St", "Springfield"]; $0.countryCode = "us" })
            let updated = try #require(try await f.sites.updateSite(request, f.context(f.person(admin), tenant: tenant)).site)
            #expect(updated.name == "Plant")
            #expect(updated.timeZone == "America/New_York")
            #expect(updated.address?.lines == ["1 Main St", "Springfield"])
            #expect(updated.address?.countryCode == "US")
            #expect(updated.responsibleIdentityID == admin.bytes)
            #expect(updated.updatedAtMs >= site.updatedAtMs)
        }
    }

    @Test("the Responsible changes only to a member of the tenant")
    func setResponsible() async throws {
        try await Fixture.with { f in
            let tenant = try await f.createTenant("Acme")
            let admin = try await f.member(tenant, .admin)
            let viewer = try await f.member(tenant, .viewer)
            let other = try await f.createTenant("Other")
            let outsider = try await f.member(other, .owner)
            let site = try await f.createSite(tenant, "Plant", responsible: admin)
            var request = TenancyV1.SetSiteResponsibleRequest()
            request.tenantID = tenant.bytes
            request.siteID = site.siteID
            request.identityID = outsider.bytes
            let caller = f.context(f.person(admin), tenant: tenant)
            await expectFailure(Status.failedPrecondition) { try await f.sites.setSiteResponsible(request, caller) }
            request.identityID = viewer.bytes
            #expect(try await f.sites.setSiteResponsible(request, caller).site?.responsibleIdentityID == viewer.bytes)
            let roles = try await f.directory.roleStrings(ofIdentity: viewer.lowercased)
            #expect(roles.contains("site:\(tenant.lowercased):\(UUID(bytes: site.siteID)!.lowercased):responsible"))
            #expect(try await f.directory.roleStrings(ofIdentity: admin.lowercased) == ["tenant:\(tenant.lowercased):admin"])
        }
    }
}
