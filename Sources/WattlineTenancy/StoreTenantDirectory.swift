import Foundation
import WattlineAccess
import WattlineStore

/// The tenancy side of the seam the identity service uses (`TenantDirectory`): people's tenant
/// roles and site responsibilities for their access tokens, and memberships from invitations.
public struct StoreTenantDirectory: TenantDirectory {
    let store: Store

    /// - Parameter store: connected as the server's role (`wattline_app`).
    public init(store: Store) { self.store = store }

    /// "tenant:<uuid>:<role>" per membership and "site:<tenant>:<site>:responsible" per site; read
    /// across tenants through the identity lookup, which shows this person's rows only.
    public func roleStrings(ofIdentity identityID: String) async throws -> [String] {
        guard let id = UUID(uuidString: identityID) else { return [] }
        let (memberships, sites) = try await store.lookup(.identity(id)) { tx in
            let memberships = try tx.query("SELECT tenant_id, role FROM wattline.memberships WHERE identity_id = $1", [.uuid(id)])
                .rows.map { (try $0.uuid(0).lowercased, try $0.string(1)) }
            let sites = try tx.query("SELECT site_id, tenant_id FROM wattline.sites WHERE responsible_identity_id = $1", [.uuid(id)])
                .rows.map { (try $0.uuid(0).lowercased, try $0.uuid(1).lowercased) }
            return (memberships, sites)
        }
        var grants = Grants()
        for (tenant, name) in memberships {
            if let role = TenantRole(name: name) { grants.tenantRoles[tenant] = role }
        }
        grants.responsibleSites = Dictionary(sites, uniquingKeysWith: { first, _ in first })
        return grants.roleStrings
    }

    public func role(ofIdentity identityID: String, inTenant tenantID: String) async throws -> TenantRole? {
        guard let id = UUID(uuidString: identityID), let tenant = UUID(uuidString: tenantID) else { return nil }
        let name = try await store.transaction(tenant: TenantID(tenant)) { tx in
            try tx.query("SELECT role FROM wattline.memberships WHERE identity_id = $1", [.uuid(id)]).first?.string(0)
        }
        return name.flatMap { TenantRole(name: $0) }
    }

    /// Adds the member unless already one. Under the tenant row's lock, like every membership
    /// change (`MembershipService`). Throws for a tenant that does not exist or whose data has
    /// been purged (an off-boarding tenant is still in use and takes members).
    public func addMember(tenantID: String, identityID: String, role: TenantRole, grantedBy: String?) async throws -> Bool {
        guard let id = UUID(uuidString: identityID), let tenant = UUID(uuidString: tenantID) else {
            throw TenantDirectoryError.malformedID
        }
        let grantor = grantedBy.flatMap(UUID.init(uuidString:))
        return try await store.transaction(tenant: TenantID(tenant)) { tx in
            guard let status = try tx.query(
                "SELECT status FROM wattline.tenants WHERE tenant_id = $1 FOR NO KEY UPDATE", [.uuid(tenant)]).first?.string(0)
            else { throw TenantDirectoryError.noSuchTenant }
            guard status != "offboarded" else { throw TenantDirectoryError.tenantOffboarded }
            return try tx.query("""
                INSERT INTO wattline.memberships (tenant_id, identity_id, role, granted_by) VALUES ($1, $2, $3, $4)
                ON CONFLICT (tenant_id, identity_id) DO NOTHING
                """, [.uuid(tenant), .uuid(id), .text(role.name), grantor.map(PGValue.uuid) ?? .null]).affectedRows == 1
        }
    }
}

/// Why `StoreTenantDirectory.addMember` refused.
public enum TenantDirectoryError: Error, Equatable, CustomStringConvertible {
    case malformedID
    case noSuchTenant
    case tenantOffboarded

    public var description: String {
        switch self {
        case .malformedID: "tenant and identity ids must be UUIDs"
        case .noSuchTenant: "no such tenant"
        case .tenantOffboarded: "the tenant has been off-boarded"
        }
    }
}
