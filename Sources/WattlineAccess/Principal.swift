/// Who makes a call, as established before its handler runs: from an access token (people and
/// integrations), from a verified client certificate (loggers), or nobody.
public enum Principal: Sendable, Hashable {
    case anonymous
    /// A person signed in through the IMS; `grants` come from the token's roles.
    case person(identityID: String, sessionID: String, grants: Grants)
    /// A third-party integration with a client-credentials token, acting within its grants.
    case integration(credentialID: String, grants: Grants)
    /// A data logger, by its client certificate or API secret (`credentialID`): exactly one
    /// logger, site and tenant.
    case logger(loggerID: String, siteID: String, tenantID: String, credentialID: String)

    /// The tenant and site roles held, empty for loggers and nobody.
    public var grants: Grants {
        switch self {
        case .person(_, _, let grants), .integration(_, let grants): grants
        case .anonymous, .logger: Grants()
        }
    }
}

/// Roles in a tenant, most powerful first (`tenancy.v1.Role`).
public enum TenantRole: Int, Sendable, Hashable, Comparable, CaseIterable {
    case owner = 1, admin, technician, viewer

    /// Whether this role includes everything `other` may do.
    public func includes(_ other: TenantRole) -> Bool { rawValue <= other.rawValue }

    public static func < (a: TenantRole, b: TenantRole) -> Bool { a.rawValue > b.rawValue }

    /// The role by its name in the store and in tokens ("owner", "admin", "technician", "viewer").
    public init?(name: Substring) {
        switch name {
        case "owner": self = .owner
        case "admin": self = .admin
        case "technician": self = .technician
        case "viewer": self = .viewer
        default: return nil
        }
    }

    public init?(name: String) { self.init(name: Substring(name)) }

    /// Its name in the store and in tokens.
    public var name: String {
        switch self {
        case .owner: "owner"
        case .admin: "admin"
        case .technician: "technician"
        case .viewer: "viewer"
        }
    }
}

/// What a person or integration may act as: a role per tenant, the sites it is Responsible for,
/// platform operator. Encoded in access tokens as role strings: "tenant:<uuid>:<role>",
/// "site:<tenant uuid>:<site uuid>:responsible", "platform:operator".
public struct Grants: Sendable, Hashable {
    public var tenantRoles: [String: TenantRole] = [:]
    /// Site → the tenant owning it.
    public var responsibleSites: [String: String] = [:]
    public var platformOperator = false

    public init(tenantRoles: [String: TenantRole] = [:], responsibleSites: [String: String] = [:], platformOperator: Bool = false) {
        self.tenantRoles = tenantRoles
        self.responsibleSites = responsibleSites
        self.platformOperator = platformOperator
    }

    /// Parses token role strings; unknown or malformed entries grant nothing (never an error that
    /// could lock a person out, never a grant by accident). On every authenticated call's path,
    /// hence byte-level parsing rather than `split`.
    public init(roleStrings: [String]) {
        for entry in roleStrings {
            let bytes = entry.utf8
            guard let first = bytes.firstIndex(of: UInt8(ascii: ":")) else { continue }
            let kind = entry[..<first]
            let rest = entry[bytes.index(after: first)...]
            switch kind {
            case "tenant", "site":
                guard let last = rest.utf8.lastIndex(of: UInt8(ascii: ":")) else { continue }
                var id = rest[..<last]
                let name = rest[rest.utf8.index(after: last)...]
                if kind == "site" {
                    // "<tenant>:<site>": the site and the tenant that owns it.
                    guard name == "responsible", let middle = id.utf8.firstIndex(of: UInt8(ascii: ":")) else { continue }
                    let tenant = id[..<middle]
                    id = id[id.utf8.index(after: middle)...]
                    guard !tenant.isEmpty, !id.isEmpty, !id.utf8.contains(UInt8(ascii: ":")) else { continue }
                    responsibleSites[String(id)] = String(tenant)
                    continue
                }
                guard !id.isEmpty, !id.utf8.contains(UInt8(ascii: ":")) else { continue }
                if let role = TenantRole(name: name) {
                    let key = String(id)
                    if let held = tenantRoles[key], held.includes(role) { continue }  // keep the stronger
                    tenantRoles[key] = role
                }
            case "platform":
                if rest == "operator" { platformOperator = true }
            default:
                continue
            }
        }
    }

    /// The role strings for an access token.
    public var roleStrings: [String] {
        tenantRoles.sorted { $0.key < $1.key }.map { "tenant:\($0.key):\($0.value.name)" }
            + responsibleSites.sorted { $0.key < $1.key }.map { "site:\($0.value):\($0.key):responsible" }
            + (platformOperator ? ["platform:operator"] : [])
    }
}
