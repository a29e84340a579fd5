/// What a method requires of its caller, declared once per method in `AccessPolicy`. A call is
/// allowed when the principal satisfies any one of the method's requirements; a method without a
/// declaration is denied to everybody.
///
/// Tenant and site requirements are checked against the call's tenant and site, which the request
/// names (`AccessPolicy.Permission`); the handler then reads and writes in that tenant's scope
/// only, so an entity of another tenant is simply not found (row-level security in the database).
public enum Requirement: Sendable, Hashable {
    /// No credentials needed (health, sign-in, public keys).
    case anyone
    /// A signed-in person (any tenant or none).
    case person
    /// A person or an integration with a valid access token.
    case anyToken
    /// At least this role in the call's tenant (people and integrations).
    case tenantRole(TenantRole)
    /// The Responsible of the site the request names, in the call's tenant (of any site, for
    /// methods naming none).
    case siteResponsible
    /// A platform operator.
    case platformOperator
    /// A logger authenticated by its client certificate.
    case logger

    /// Whether `principal` meets this requirement in the call's tenant and site (nil: none named).
    public func isMet(by principal: Principal, tenantID: String?, siteID: String? = nil) -> Bool {
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
            if let siteID {
                guard let tenantID else { return false }
                return grants.responsibleSites[siteID] == tenantID
            }
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
