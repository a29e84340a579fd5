import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.tenancy.v1.TenantService`: the customer organisations. Roles are checked by
/// `AccessPolicy` before a handler runs; each handler works in its tenant's scope only.
public final class TenantService: Sendable {
    let store: Store
    let keyring: TenantKeyring

    /// Off-boarding's grace period before the purge may run, in days of 24 hours.
    public static let offboardingGracePeriodDays = 30

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
    }

    public func register(in router: inout Router) {
        router.unary(TenancyV1.TenantService.CreateTenant.self) { [self] request, context in
            try await createTenant(request, context)
        }
        router.unary(TenancyV1.TenantService.GetTenant.self) { [self] request, context in
            try await getTenant(request, context)
        }
        router.unary(TenancyV1.TenantService.ListTenants.self) { [self] request, context in
            try await listTenants(request, context)
        }
        router.unary(TenancyV1.TenantService.UpdateTenant.self) { [self] request, context in
            try await updateTenant(request, context)
        }
        router.unary(TenancyV1.TenantService.RequestTenantOffboarding.self) { [self] request, context in
            try await requestTenantOffboarding(request, context)
        }
        router.unary(TenancyV1.TenantService.CancelTenantOffboarding.self) { [self] request, context in
            try await cancelTenantOffboarding(request, context)
        }
    }

    // MARK: Handlers

    /// Creates the tenant's row and its first data key, in the new tenant's own scope.
    func createTenant(_ request: TenancyV1.CreateTenantRequest, _ context: CallContext) async throws -> TenancyV1.CreateTenantResponse {
        try Validate.text(request.name, "name", 1...100)
        try Validate.text(request.legalName, "legal_name", 0...200)
        let country = try Validate.country(request.countryCode, "country_code")
        let id = UUID.v7()
        let keyring = keyring
        let tenant = try await store.transaction(tenant: TenantID(id)) { tx in
            try keyring.ensureKey(tx)
            let name = try keyring.sealText(request.name, tx, "tenants", "name_enc", row: id.bytes)
            let legal = try keyring.sealText(request.legalName, tx, "tenants", "legal_name_enc", row: id.bytes)
            try tx.query(
                "INSERT INTO wattline.tenants (tenant_id, name_enc, legal_name_enc, country_code) VALUES ($1, $2, $3, $4)",
                [.uuid(id), .bytea(name), .bytea(legal), .text(country)])
            return try TenantRows.read(tx, keyring)!.tenant
        }
        var response = TenancyV1.CreateTenantResponse()
        response.tenant = tenant
        return response
    }

    func getTenant(_ request: TenancyV1.GetTenantRequest, _ context: CallContext) async throws -> TenancyV1.GetTenantResponse {
        let scope = try context.tenant(named: request.tenantID)
        let keyring = keyring
        let row = try await store.transaction(tenant: scope) { tx in try TenantRows.read(tx, keyring) }
        guard let row else { throw CallFailure.notFound("no such tenant") }
        var response = TenancyV1.GetTenantResponse()
        response.tenant = row.tenant
        return response
    }

    /// The caller's tenants (from its memberships), or every tenant for a platform operator who
    /// asks; by name. Names are sealed per tenant, so each tenant is read in its own scope.
    func listTenants(_ request: TenancyV1.ListTenantsRequest, _ context: CallContext) async throws -> TenancyV1.ListTenantsResponse {
        let size = try Validate.pageSize(request.pageSize)
        let after = try PageToken.decode(request.pageToken, for: .tenants)
        let wanted: TenancyV1.TenantState?
        switch request.state {
        case .unspecified: wanted = nil
        case .active, .offboarding, .offboarded: wanted = request.state
        case .unrecognized: throw CallFailure.invalidArgument("state is not a known tenant state")
        }
        let caller = context.caller
        let ids: [UUID]
        if request.allTenants {
            guard caller.grants.platformOperator else {
                throw CallFailure.permissionDenied("only platform operators may list all tenants")
            }
            ids = try await store.lookup(.allTenants) { tx in
                try tx.query("SELECT tenant_id FROM wattline.tenants").rows.map { try $0.uuid(0) }
            }
        } else {
            guard let person = caller.personID else { throw CallFailure.permissionDenied("only people hold tenant roles") }
            ids = try await store.lookup(.identity(person)) { tx in
                try tx.query("SELECT tenant_id FROM wattline.memberships WHERE identity_id = $1", [.uuid(person)]).rows
                    .map { try $0.uuid(0) }
            }
        }
        var tenants: [TenancyV1.Tenant] = []
        let keyring = keyring
        for id in ids {
            guard let row = try await store.transaction(tenant: TenantID(id), { tx in try TenantRows.read(tx, keyring) })
            else { continue }
            let matches = wanted.map { row.tenant.state == $0 } ?? (row.tenant.state != .offboarded)
            if matches { tenants.append(row.tenant) }
        }
        let page = SortedPage(tenants, key: { nameKey($0.name) }, id: \.tenantID, after: after, size: size, listing: .tenants)
        var response = TenancyV1.ListTenantsResponse()
        response.tenants = page.entries
        response.nextPageToken = page.nextToken
        return response
    }

    func updateTenant(_ request: TenancyV1.UpdateTenantRequest, _ context: CallContext) async throws -> TenancyV1.UpdateTenantResponse {
        let scope = try context.tenant(named: request.tenantID)
        let name: String?, legalName: String?, country: String?
        if case .name(let value) = request.nameUpdate {
            try Validate.text(value, "name", 1...100)
            name = value
        } else {
            name = nil
        }
        if case .legalName(let value) = request.legalNameUpdate {
            try Validate.text(value, "legal_name", 0...200)
            legalName = value
        } else {
            legalName = nil
        }
        if case .countryCode(let value) = request.countryCodeUpdate {
            country = try Validate.country(value, "country_code")
        } else {
            country = nil
        }
        let retention: Int32?
        if case .retentionDays(let days) = request.retentionUpdate {
            guard days <= 36_500 else { throw CallFailure.invalidArgument("retention_days must be 0 (keep) or 1 to 36500") }
            retention = Int32(days)
        } else {
            retention = nil
        }
        let keyring = keyring
        let tenant = try await store.transaction(tenant: scope) { tx in
            guard let current = try TenantRows.read(tx, keyring, lock: true) else { throw CallFailure.notFound("no such tenant") }
            guard current.tenant.state == .active else {
                throw CallFailure.failedPrecondition("only an active tenant can be changed")
            }
            guard name != nil || legalName != nil || country != nil || retention != nil else { return current.tenant }
            let row = tx.tenant.bytes
            let nameEnc = try name.map { try keyring.sealText($0, tx, "tenants", "name_enc", row: row) }
            let legalEnc = try legalName.map { try keyring.sealText($0, tx, "tenants", "legal_name_enc", row: row) }
            try tx.query("""
                UPDATE wattline.tenants SET name_enc = coalesce($2, name_enc), legal_name_enc = coalesce($3, legal_name_enc),
                    country_code = coalesce($4, country_code),
                    retention_days = CASE WHEN $5::integer IS NULL THEN retention_days ELSE nullif($5::integer, 0) END,
                    updated_at = now()
                WHERE tenant_id = $1
                """,
                [.uuid(tx.tenant.uuid), nameEnc.map(PGValue.bytea) ?? .null, legalEnc.map(PGValue.bytea) ?? .null,
                 country.map(PGValue.text) ?? .null, retention.map(PGValue.int32) ?? .null])
            return try TenantRows.read(tx, keyring)!.tenant
        }
        var response = TenancyV1.UpdateTenantResponse()
        response.tenant = tenant
        return response
    }

    func requestTenantOffboarding(
        _ request: TenancyV1.RequestTenantOffboardingRequest, _ context: CallContext
    ) async throws -> TenancyV1.RequestTenantOffboardingResponse {
        let scope = try context.tenant(named: request.tenantID)
        try Validate.freeText(request.reason, "reason", maximum: 500)
        let keyring = keyring
        let days = Self.offboardingGracePeriodDays
        let tenant = try await store.transaction(tenant: scope) { tx in
            guard let current = try TenantRows.read(tx, keyring, lock: true) else { throw CallFailure.notFound("no such tenant") }
            guard current.tenant.state == .active else {
                throw CallFailure.failedPrecondition("only an active tenant can be off-boarded")
            }
            guard request.confirmationName == current.tenant.name else {
                throw CallFailure.failedPrecondition("confirmation_name does not match the tenant's current name")
            }
            try tx.query("""
                UPDATE wattline.tenants SET status = 'offboarding', offboarding_requested_at = now(),
                    purge_not_before = now() + make_interval(hours => 24 * $2)
                WHERE tenant_id = $1
                """, [.uuid(tx.tenant.uuid), .int32(Int32(days))])
            return try TenantRows.read(tx, keyring)!.tenant
        }
        var response = TenancyV1.RequestTenantOffboardingResponse()
        response.tenant = tenant
        return response
    }

    func cancelTenantOffboarding(
        _ request: TenancyV1.CancelTenantOffboardingRequest, _ context: CallContext
    ) async throws -> TenancyV1.CancelTenantOffboardingResponse {
        let scope = try context.tenant(named: request.tenantID)
        let keyring = keyring
        let tenant = try await store.transaction(tenant: scope) { tx in
            guard let current = try TenantRows.read(tx, keyring, lock: true) else { throw CallFailure.notFound("no such tenant") }
            guard current.tenant.state == .offboarding, !current.purgeStarted else {
                throw CallFailure.failedPrecondition("the tenant is not being off-boarded, or its purge has started")
            }
            try tx.query("""
                UPDATE wattline.tenants SET status = 'active', offboarding_requested_at = NULL, purge_not_before = NULL
                WHERE tenant_id = $1
                """, [.uuid(tx.tenant.uuid)])
            return try TenantRows.read(tx, keyring)!.tenant
        }
        var response = TenancyV1.CancelTenantOffboardingResponse()
        response.tenant = tenant
        return response
    }
}
