import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.tenancy.v1.SiteService`: a tenant's buildings. Every site has exactly one
/// Responsible (a column of the site), who must be a member of the tenant; the tenant row's lock
/// serialises name checks, Responsible changes and membership removals.
public final class SiteService: Sendable {
    let store: Store
    let keyring: TenantKeyring

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
    }

    public func register(in router: inout Router) {
        router.unary(TenancyV1.SiteService.CreateSite.self) { [self] request, context in
            try await createSite(request, context)
        }
        router.unary(TenancyV1.SiteService.GetSite.self) { [self] request, context in
            try await getSite(request, context)
        }
        router.unary(TenancyV1.SiteService.ListSites.self) { [self] request, context in
            try await listSites(request, context)
        }
        router.unary(TenancyV1.SiteService.UpdateSite.self) { [self] request, context in
            try await updateSite(request, context)
        }
        router.unary(TenancyV1.SiteService.SetSiteResponsible.self) { [self] request, context in
            try await setSiteResponsible(request, context)
        }
    }

    func createSite(_ request: TenancyV1.CreateSiteRequest, _ context: CallContext) async throws -> TenancyV1.CreateSiteResponse {
        let scope = try context.tenant(named: request.tenantID)
        try Validate.text(request.name, "name", 1...100)
        let address = try Validate.address(request.address, "address")
        try Validate.timeZone(request.timeZone, "time_zone")
        let responsible = try requiredID(request.responsibleIdentityID, "responsible_identity_id")
        let id = UUID.v7()
        let keyring = keyring
        let site = try await store.transaction(tenant: scope) { tx in
            try TenantRows.lock(tx)
            try SiteRows.checkMember(responsible, tx)
            try SiteRows.checkNameFree(request.name, except: nil, tx, keyring)
            let name = try keyring.sealText(request.name, tx, "sites", "name_enc", row: id.bytes)
            let sealedAddress = try keyring.seal(address.serializedBytes(), tx, table: "sites", column: "address_enc", row: id.bytes)
            try tx.query("""
                INSERT INTO wattline.sites (tenant_id, site_id, name_enc, address_enc, country, time_zone, responsible_identity_id)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                """,
                [.uuid(tx.tenant.uuid), .uuid(id), .bytea(name), .bytea(sealedAddress), .text(address.countryCode),
                 .text(request.timeZone), .uuid(responsible)])
            return try SiteRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.CreateSiteResponse()
        response.site = site
        return response
    }

    func getSite(_ request: TenancyV1.GetSiteRequest, _ context: CallContext) async throws -> TenancyV1.GetSiteResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try requiredID(request.siteID, "site_id")
        let keyring = keyring
        let site = try await store.transaction(tenant: scope) { tx in try SiteRows.read(tx, keyring, id) }
        guard let site else { throw CallFailure.notFound("no such site") }
        var response = TenancyV1.GetSiteResponse()
        response.site = site
        return response
    }

    func listSites(_ request: TenancyV1.ListSitesRequest, _ context: CallContext) async throws -> TenancyV1.ListSitesResponse {
        let scope = try context.tenant(named: request.tenantID)
        let size = try Validate.pageSize(request.pageSize)
        let after = try PageToken.decode(request.pageToken, for: .sites)
        let keyring = keyring
        let sites = try await store.transaction(tenant: scope) { tx in try SiteRows.all(tx, keyring) }
        let page = SortedPage(sites, key: { nameKey($0.name) }, id: \.siteID, after: after, size: size, listing: .sites)
        var response = TenancyV1.ListSitesResponse()
        response.sites = page.entries
        response.nextPageToken = page.nextToken
        return response
    }

    func updateSite(_ request: TenancyV1.UpdateSiteRequest, _ context: CallContext) async throws -> TenancyV1.UpdateSiteResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try requiredID(request.siteID, "site_id")
        let name: String?, address: TenancyV1.Address?, timeZone: String?
        if case .name(let value) = request.nameUpdate {
            try Validate.text(value, "name", 1...100)
            name = value
        } else {
            name = nil
        }
        if case .address(let value) = request.addressUpdate {
            address = try Validate.address(value, "address")
        } else {
            address = nil
        }
        if case .timeZone(let value) = request.timeZoneUpdate {
            try Validate.timeZone(value, "time_zone")
            timeZone = value
        } else {
            timeZone = nil
        }
        let keyring = keyring
        let site = try await store.transaction(tenant: scope) { tx in
            if name != nil { try TenantRows.lock(tx) }
            guard let current = try SiteRows.read(tx, keyring, id, lock: true) else { throw CallFailure.notFound("no such site") }
            guard name != nil || address != nil || timeZone != nil else { return current }
            if let name { try SiteRows.checkNameFree(name, except: id, tx, keyring) }
            let nameEnc = try name.map { try keyring.sealText($0, tx, "sites", "name_enc", row: id.bytes) }
            let addressEnc = try address.map {
                try keyring.seal($0.serializedBytes(), tx, table: "sites", column: "address_enc", row: id.bytes)
            }
            try tx.query("""
                UPDATE wattline.sites SET name_enc = coalesce($2, name_enc), address_enc = coalesce($3, address_enc),
                    country = coalesce($4, country), time_zone = coalesce($5, time_zone), updated_at = now()
                WHERE site_id = $1
                """,
                [.uuid(id), nameEnc.map(PGValue.bytea) ?? .null, addressEnc.map(PGValue.bytea) ?? .null,
                 address.map { PGValue.text($0.countryCode) } ?? .null, timeZone.map(PGValue.text) ?? .null])
            return try SiteRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.UpdateSiteResponse()
        response.site = site
        return response
    }

    func setSiteResponsible(
        _ request: TenancyV1.SetSiteResponsibleRequest, _ context: CallContext
    ) async throws -> TenancyV1.SetSiteResponsibleResponse {
        let scope = try context.tenant(named: request.tenantID)
        let id = try requiredID(request.siteID, "site_id")
        let responsible = try requiredID(request.identityID, "identity_id")
        let keyring = keyring
        let site = try await store.transaction(tenant: scope) { tx in
            try TenantRows.lock(tx)
            guard let current = try SiteRows.read(tx, keyring, id, lock: true) else { throw CallFailure.notFound("no such site") }
            try SiteRows.checkMember(responsible, tx)
            guard current.responsibleIdentityID != responsible.bytes else { return current }
            try tx.query("UPDATE wattline.sites SET responsible_identity_id = $2, updated_at = now() WHERE site_id = $1",
                         [.uuid(id), .uuid(responsible)])
            return try SiteRows.read(tx, keyring, id)!
        }
        var response = TenancyV1.SetSiteResponsibleResponse()
        response.site = site
        return response
    }
}
