/// What a method requires of its caller, declared once per method in `AccessPolicy`. A call is
/// allowed when the principal satisfies any one of the method's requirements; a method without a
/// declaration is denied to everybody.
///
/// Tenant and site requirements are checked twice: here, that the caller holds such a role in the
/// call's tenant (the tenant its token is scoped to); and by the handler, against the entity the
/// request names (`AccessCheck.require`), with row-level security in the database as the
/// backstop.
public enum Requirement: Sendable, Hashable {
    /// No credentials needed (health, sign-in, public keys).
    case anyone
    /// A signed-in person (any tenant or none).
    case person
    /// A person or an integration with a valid access token.
    case anyToken
    /// At least this role in the call's tenant (people and integrations).
    case tenantRole(TenantRole)
    /// The Responsible of a site of the call's tenant.
    case siteResponsible
    /// A platform operator.
    case platformOperator
    /// A logger authenticated by its client certificate.
    case logger

    /// Whether `principal` meets this requirement in the call's tenant (nil: the token names none).
    public func isMet(by principal: Principal, tenantID: String?) -> Bool {
        switch (self, principal) {
        case (.anyone, _):
            return true
        case (.person, .person):
            return true
        case (.anyToken, .person), (.anyToken, .integration):
            return true
        case (.tenantRole(let needed), .person(_, _, let grants)), (.tenantRole(let needed), .integration(_, let grants)):
            guard let tenantID, let held = grants.tenantRoles[tenantID] else { return false }
            return held.includes(needed)
        case (.siteResponsible, .person(_, _, let grants)):
            return !grants.responsibleSites.isEmpty
        case (.platformOperator, .person(_, _, let grants)):
            return grants.platformOperator
        case (.logger, .logger):
            return true
        default:
            return false
        }
    }
}
