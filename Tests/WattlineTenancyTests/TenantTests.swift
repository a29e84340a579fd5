import Foundation
import Testing
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire
@testable import WattlineTenancy

@Suite("Tenants")
struct TenantTests {
    @Test("a platform operator creates a tenant with its data key; its names are stored sealed")
    func create() async throws {
        try await Fixture.with { f in
            var request = TenancyV1.CreateTenantRequest()
            request.name = "Acme Energy"
            request.legalName = "Acme Energy Holding AG"
            request.countryCode = "ch"
            let tenant = try #require(try await f.tenants.createTenant(request, f.context(f.platformOperator)).tenant)
            #expect(tenant.name == "Acme Energy")
            #expect(tenant.legalName == "Acme Energy Holding AG")
            #expect(tenant.countryCode == "CH")
            #expect(tenant.state == .active)
            #expect(tenant.createdAtMs > 0 && tenant.updatedAtMs == tenant.createdAtMs)
            #expect(tenant.purgeNotBeforeMs == 0)
            let id = try #require(UUID(bytes: tenant.tenantID))
            #expect(tenant.tenantID[6] >> 4 == 7)  // UUIDv7

            let raw = try f.rawBytes("SELECT name_enc FROM wattline.tenants WHERE tenant_id = $1", [.uuid(id)])
            #expect(!raw.isEmpty)
            #expect(raw.count > "Acme Energy".utf8.count)
            #expect(String(decoding: raw, as: UTF8.self).contains("Acme") == false)
            let keys = try f.rawBytes("SELECT wrapped_key FROM wattline.data_keys WHERE tenant_id = $1", [.uuid(id)])
            #expect(!keys.isEmpty)

            let read = try await f.tenants.getTenant(.with { $0.tenantID = id.bytes }, f.context(f.person(UUID(), .viewer, in: id), tenant: id))
            #expect(read.tenant == tenant)
        }
    }

    @Test("tenant fields are validated")
    func validation() async throws {
        try await Fixture.with { f in
            let cases: [(String, String, String)] = [
                ("", "", "CH"), ("   ", "", "CH"), (String(repeating: "x", count: 101), "", "CH"), ("Nul\u{0}Name", "", "CH"),
                ("Fine", String(repeating: "y", count: 201), "CH"), ("Fine", "", ""), ("Fine", "", "XX"), ("Fine", "", "CHE"),
                ("Fine", "", "EU"),
            ]
            for (name, legal, country) in cases {
                var request = TenancyV1.CreateTenantRequest()
                request.name = name
                request.legalName = legal
                request.countryCode = country
                let failed = await failure { try await f.tenants.createTenant(request, f.context(f.platformOperator)) }
                #expect(failed?.code == Status.invalidArgument, "name \(name.debugDescription) country \(country)")
            }
        }
    }

    @Test("the call's tenant must be the one the request names")
    func callScope() async throws {
        try await Fixture.with { f in
            let a = try await f.createTenant("A")
            let b = try await f.createTenant("B")
            let mismatch = await failure {
                try await f.tenants.getTenant(.with { $0.tenantID = a.bytes }, f.context(f.person(UUID(), .viewer, in: b), tenant: b))
            }
            #expect(mismatch?.code == Status.permissionDenied)
            let unscoped = await failure { try await f.tenants.getTenant(.with { $0.tenantID = a.bytes }, f.context(f.platformOperator)) }
            #expect(unscoped?.code == Status.permissionDenied)
        }
    }

    @Test("update changes only the fields set, and only while the tenant is active")
    func update() async throws {
        try await Fixture.with { f in
            let id = try await f.createTenant("Before")
            let owner = try await f.member(id, .owner)
            let caller = f.context(f.person(owner, .owner, in: id), tenant: id)
            var request = TenancyV1.UpdateTenantRequest()
            request.tenantID = id.bytes
            request.nameUpdate = .name("After")
            let updated = try #require(try await f.tenants.updateTenant(request, caller).tenant)
            #expect(updated.name == "After")
            #expect(updated.legalName == "Before AG")
            #expect(updated.countryCode == "CH")
            #expect(updated.updatedAtMs >= updated.createdAtMs)

            request.nameUpdate = nil
            request.countryCodeUpdate = .countryCode("Germany")
            await expectFailure(Status.invalidArgument) { try await f.tenants.updateTenant(request, caller) }
            request.countryCodeUpdate = .countryCode("DE")
            #expect(try await f.tenants.updateTenant(request, caller).tenant?.countryCode == "DE")

            var offboard = TenancyV1.RequestTenantOffboardingRequest()
            offboard.tenantID = id.bytes
            offboard.confirmationName = "After"
            _ = try await f.tenants.requestTenantOffboarding(offboard, caller)
            await expectFailure(Status.failedPrecondition) { try await f.tenants.updateTenant(request, caller) }
        }
    }

    @Test("off-boarding needs the exact name, sets a 30-day grace period, and can be cancelled until the purge starts")
    func offboarding() async throws {
        try await Fixture.with { f in
            let id = try await f.createTenant("Doomed Ltd")
            let owner = try await f.member(id, .owner)
            let caller = f.context(f.person(owner, .owner, in: id), tenant: id)
            var request = TenancyV1.RequestTenantOffboardingRequest()
            request.tenantID = id.bytes
            request.confirmationName = "doomed ltd"
            request.reason = "moving away\nfor good"
            await expectFailure(Status.failedPrecondition) { try await f.tenants.requestTenantOffboarding(request, caller) }

            request.confirmationName = "Doomed Ltd"
            let tenant = try #require(try await f.tenants.requestTenantOffboarding(request, caller).tenant)
            #expect(tenant.state == .offboarding)
            #expect(tenant.offboardingRequestedAtMs > 0)
            #expect(tenant.purgeNotBeforeMs - tenant.offboardingRequestedAtMs == 30 * 86_400_000)
            await expectFailure(Status.failedPrecondition) { try await f.tenants.requestTenantOffboarding(request, caller) }

            let cancel = TenancyV1.CancelTenantOffboardingRequest.with { $0.tenantID = id.bytes }
            let active = try #require(try await f.tenants.cancelTenantOffboarding(cancel, caller).tenant)
            #expect(active.state == .active)
            #expect(active.purgeNotBeforeMs == 0 && active.offboardingRequestedAtMs == 0)
            await expectFailure(Status.failedPrecondition) { try await f.tenants.cancelTenantOffboarding(cancel, caller) }

            // Once the purge has begun, off-boarding can no longer be withdrawn.
            _ = try await f.tenants.requestTenantOffboarding(request, caller)
            try await f.store.transaction(tenant: TenantID(id)) { tx in
                try tx.query("UPDATE wattline.tenants SET purge_started_at = now()")
            }
            await expectFailure(Status.failedPrecondition) { try await f.tenants.cancelTenantOffboarding(cancel, caller) }
        }
    }

    @Test("people list the tenants they are members of, by name, page by page; only operators list all")
    func listing() async throws {
        try await Fixture.with { f in
            let names = ["Delta", "alpha", "Charlie", "bravo"]
            var ids: [UUID] = []
            for name in names { ids.append(try await f.createTenant(name)) }
            let other = try await f.createTenant("Outsider")
            let person = UUID.v7()
            f.people.add(person, email: "p@example.com", displayName: "P")
            for id in ids {
                _ = try await f.directory.addMember(tenantID: id.lowercased, identityID: person.lowercased, role: .viewer, grantedBy: nil)
            }
            var request = TenancyV1.ListTenantsRequest()
            request.pageSize = 3
            let first = try await f.tenants.listTenants(request, f.context(f.person(person)))
            #expect(first.tenants.map(\.name) == ["alpha", "bravo", "Charlie"])
            #expect(!first.nextPageToken.isEmpty)
            request.pageToken = first.nextPageToken
            let second = try await f.tenants.listTenants(request, f.context(f.person(person)))
            #expect(second.tenants.map(\.name) == ["Delta"])
            #expect(second.nextPageToken.isEmpty)

            request = TenancyV1.ListTenantsRequest()
            request.allTenants = true
            await expectFailure(Status.permissionDenied) { try await f.tenants.listTenants(request, f.context(f.person(person))) }
            let all = try await f.tenants.listTenants(request, f.context(f.platformOperator))
            let listedIDs = Set(all.tenants.map(\.tenantID))
            #expect(listedIDs == Set((ids + [other]).map(\.bytes)))

            request.pageToken = "not-a-token"
            await expectFailure(Status.invalidArgument) { try await f.tenants.listTenants(request, f.context(f.platformOperator)) }
            request.pageToken = ""
            request.pageSize = 501
            await expectFailure(Status.invalidArgument) { try await f.tenants.listTenants(request, f.context(f.platformOperator)) }
        }
    }

    @Test("listings leave off-boarded tenants out unless asked for them")
    func stateFilter() async throws {
        try await Fixture.with { f in
            let kept = try await f.createTenant("Kept")
            let gone = try await f.createTenant("Gone")
            try await f.store.transaction(tenant: TenantID(gone)) { tx in
                try tx.query("UPDATE wattline.tenants SET status = 'offboarded'")
                try f.keyring.shred(tx)
            }
            var request = TenancyV1.ListTenantsRequest()
            request.allTenants = true
            let listed = try await f.tenants.listTenants(request, f.context(f.platformOperator))
            #expect(listed.tenants.map(\.tenantID) == [kept.bytes])
            request.state = .offboarded
            let offboarded = try await f.tenants.listTenants(request, f.context(f.platformOperator))
            #expect(offboarded.tenants.map(\.tenantID) == [gone.bytes])
            #expect(offboarded.tenants.first?.name == "")  // its key is destroyed
        }
    }
}
