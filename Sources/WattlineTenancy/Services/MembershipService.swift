import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.tenancy.v1.MembershipService`: people's roles in a tenant. `AccessPolicy` lets
/// admins grant and change roles and any member call RevokeMembership (to leave); the rules about
/// owners, leaving and Responsibles are checked here, under the tenant row's lock so that two
/// concurrent changes cannot together leave a tenant without an owner.
public final class MembershipService: Sendable {
    let store: Store
    let keyring: TenantKeyring
    let people: any PeopleDirectory

    public init(store: Store, keyring: TenantKeyring, people: any PeopleDirectory) {
        self.store = store
        self.keyring = keyring
        self.people = people
    }

    public func register(in router: inout Router) {
        router.unary(TenancyV1.MembershipService.ListMemberships.self) { [self] request, context in
            try await listMemberships(request, context)
        }
        router.unary(TenancyV1.MembershipService.GrantMembership.self) { [self] request, context in
            try await grantMembership(request, context)
        }
        router.unary(TenancyV1.MembershipService.ChangeMembershipRole.self) { [self] request, context in
            try await changeMembershipRole(request, context)
        }
        router.unary(TenancyV1.MembershipService.RevokeMembership.self) { [self] request, context in
            try await revokeMembership(request, context)
        }
    }

    /// Members by display name (then id); names come from the identity service.
    func listMemberships(_ request: TenancyV1.ListMembershipsRequest, _ context: CallContext) async throws -> TenancyV1.ListMembershipsResponse {
        let scope = try context.tenant(named: request.tenantID)
        let size = try Validate.pageSize(request.pageSize)
        let after = try PageToken.decode(request.pageToken, for: .memberships)
        let role = request.role == .unspecified ? nil : try request.role.required()
        let records = try await store.transaction(tenant: scope) { tx in try MembershipRows.read(tx, role: role) }
        let found = try await people.people(records.map(\.identityID.lowercased))
        let memberships = records.map { $0.membership(tenant: scope, person: found[$0.identityID.lowercased]) }
        let page = SortedPage(memberships, key: { nameKey($0.displayName) }, id: \.identityID, after: after, size: size,
                              listing: .memberships)
        var response = TenancyV1.ListMembershipsResponse()
        response.memberships = page.entries
        response.nextPageToken = page.nextToken
        return response
    }

    func grantMembership(_ request: TenancyV1.GrantMembershipRequest, _ context: CallContext) async throws -> TenancyV1.GrantMembershipResponse {
        let scope = try context.tenant(named: request.tenantID)
        let identity = try requiredID(request.identityID, "identity_id")
        let role = try request.role.required()
        guard let person = try await people.people([identity.lowercased])[identity.lowercased] else {
            throw CallFailure.notFound("no such identity")
        }
        let caller = context.caller
        let record = try await store.transaction(tenant: scope) { tx in
            try TenantRows.lock(tx)
            if role == .owner { try Self.checkMayManageOwners(caller, tx) }
            let inserted = try tx.query("""
                INSERT INTO wattline.memberships (tenant_id, identity_id, role, granted_by) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, identity_id) DO NOTHING
                """, [.uuid(tx.tenant.uuid), .uuid(identity), .text(role.name), caller.personID.map(PGValue.uuid) ?? .null])
            guard inserted.affectedRows == 1 else { throw CallFailure.alreadyExists("the identity is already a member of the tenant") }
            return try MembershipRows.read(tx, identity: identity)[0]
        }
        var response = TenancyV1.GrantMembershipResponse()
        response.membership = record.membership(tenant: scope, person: person)
        return response
    }

    func changeMembershipRole(
        _ request: TenancyV1.ChangeMembershipRoleRequest, _ context: CallContext
    ) async throws -> TenancyV1.ChangeMembershipRoleResponse {
        let scope = try context.tenant(named: request.tenantID)
        let identity = try requiredID(request.identityID, "identity_id")
        let role = try request.role.required()
        let caller = context.caller
        let record = try await store.transaction(tenant: scope) { tx in
            try TenantRows.lock(tx)
            guard let current = try MembershipRows.read(tx, identity: identity, lock: true).first else {
                throw CallFailure.notFound("the identity is not a member of the tenant")
            }
            guard current.role != role else { return current }
            if role == .owner || current.role == .owner { try Self.checkMayManageOwners(caller, tx) }
            if current.role == .owner, try MembershipRows.ownerCount(tx) <= 1 {
                throw CallFailure.failedPrecondition("the tenant's last owner cannot be demoted; make another member owner first")
            }
            try tx.query("UPDATE wattline.memberships SET role = $2 WHERE identity_id = $1", [.uuid(identity), .text(role.name)])
            return try MembershipRows.read(tx, identity: identity)[0]
        }
        let person = try await people.people([identity.lowercased])[identity.lowercased]
        var response = TenancyV1.ChangeMembershipRoleResponse()
        response.membership = record.membership(tenant: scope, person: person)
        return response
    }

    /// Admins remove non-owners, owners anyone, every member themself; never the last owner,
    /// never a site's Responsible.
    func revokeMembership(_ request: TenancyV1.RevokeMembershipRequest, _ context: CallContext) async throws -> TenancyV1.RevokeMembershipResponse {
        let scope = try context.tenant(named: request.tenantID)
        let identity = try requiredID(request.identityID, "identity_id")
        let caller = context.caller
        let keyring = keyring
        try await store.transaction(tenant: scope) { tx in
            try TenantRows.lock(tx)
            guard let target = try MembershipRows.read(tx, identity: identity, lock: true).first else {
                throw CallFailure.notFound("the identity is not a member of the tenant")
            }
            if caller.personID != identity {
                let isOperator = caller.grants.platformOperator
                let held = try MembershipRows.callerRole(caller, tx)
                guard isOperator || held?.includes(.admin) == true else {
                    throw CallFailure.permissionDenied("only admins may remove other members")
                }
                if target.role == .owner, !(isOperator || held == .owner) {
                    throw CallFailure.permissionDenied("only an owner may remove an owner")
                }
            }
            if target.role == .owner, try MembershipRows.ownerCount(tx) <= 1 {
                throw CallFailure.failedPrecondition("the tenant's last owner cannot leave; make another member owner first")
            }
            if !target.responsibleSites.isEmpty {
                let names = try target.responsibleSites.map { id in
                    try SiteRows.read(tx, keyring, id).map { "\"\($0.name)\"" } ?? id.lowercased
                }.sorted()
                throw CallFailure.failedPrecondition(
                    "the member is the Responsible of \(names.joined(separator: ", ")); appoint another Responsible first")
            }
            try tx.query("DELETE FROM wattline.memberships WHERE identity_id = $1", [.uuid(identity)])
        }
        return TenancyV1.RevokeMembershipResponse()
    }

    /// Granting or taking away the owner role needs an owner (the store's role, not the token's)
    /// or a platform operator.
    static func checkMayManageOwners(_ caller: Principal, _ tx: borrowing TenantTransaction) throws {
        if caller.grants.platformOperator { return }
        guard try MembershipRows.callerRole(caller, tx) == .owner else {
            throw CallFailure.permissionDenied("only an owner may grant or take away the owner role")
        }
    }
}
