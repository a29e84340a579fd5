/// The seams between the identity service, which alone reads people (schema `ims`, role
/// `wattline_ims`), and the tenancy side, which alone reads tenants' data (schema `wattline`,
/// role `wattline_app`). `wattline-server` wires each to the other's implementation.

/// What the identity service asks of the tenancy side.
public protocol TenantDirectory: Sendable {
    /// The role strings a person holds now, for their access tokens: "tenant:<uuid>:<role>" per
    /// membership and "site:<tenant uuid>:<site uuid>:responsible" per site they are Responsible for.
    func roleStrings(ofIdentity identityID: String) async throws -> [String]
    /// The person's role in the tenant, if a member (invitations refuse existing members).
    func role(ofIdentity identityID: String, inTenant tenantID: String) async throws -> TenantRole?
    /// Makes the person a member with `role` (accepting an invitation); false when already a member
    /// (the existing role is kept).
    func addMember(tenantID: String, identityID: String, role: TenantRole, grantedBy: String?) async throws -> Bool
}

/// What the tenancy side asks of the identity service.
public protocol PeopleDirectory: Sendable {
    /// E-mail and display name of each of these identities that exists and is not erased.
    func people(_ identityIDs: [String]) async throws -> [String: PersonSummary]
}

/// How a person appears to the members of a tenant.
public struct PersonSummary: Sendable, Hashable {
    public var email: String
    public var displayName: String

    public init(email: String, displayName: String) {
        self.email = email
        self.displayName = displayName
    }
}
