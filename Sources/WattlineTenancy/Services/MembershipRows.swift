import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// Memberships as the store holds them, before people's names are added.
struct MembershipRecord: Sendable {
    var identityID: UUID
    var role: TenantRole
    var grantedAtMs: Int64
    var grantedBy: UUID?
    var responsibleSites: [UUID]

    func membership(tenant: TenantID, person: PersonSummary?) -> TenancyV1.Membership {
        var membership = TenancyV1.Membership()
        membership.tenantID = tenant.bytes
        membership.identityID = identityID.bytes
        membership.email = person?.email ?? ""
        membership.displayName = person?.displayName ?? ""
        membership.role = TenancyV1.Role(role)
        membership.responsibleSiteIDs = responsibleSites.map(\.bytes)
        membership.grantedAtMs = grantedAtMs
        membership.grantedByIdentityID = grantedBy?.bytes ?? []
        return membership
    }
}

enum MembershipRows {
    /// The tenant's memberships (of one identity, or with one role, when given), each with the
    /// sites whose Responsible the member is.
    static func read(_ tx: borrowing TenantTransaction, identity: UUID? = nil, role: TenantRole? = nil,
                     lock: Bool = false) throws -> [MembershipRecord] {
        let rows = try tx.query("""
            SELECT identity_id, role, created_at, granted_by FROM wattline.memberships
            WHERE ($1::uuid IS NULL OR identity_id = $1) AND ($2::text IS NULL OR role = $2)
            """ + (lock ? " FOR UPDATE" : ""),
            [identity.map(PGValue.uuid) ?? .null, role.map { PGValue.text($0.name) } ?? .null]).rows
        var sites: [UUID: [UUID]] = [:]
        for row in try tx.query("""
            SELECT responsible_identity_id, site_id FROM wattline.sites
            WHERE responsible_identity_id IS NOT NULL AND ($1::uuid IS NULL OR responsible_identity_id = $1)
            ORDER BY site_id
            """, [identity.map(PGValue.uuid) ?? .null]).rows {
            sites[try row.uuid(0), default: []].append(try row.uuid(1))
        }
        return try rows.map { row in
            let id = try row.uuid(0)
            guard let role = TenantRole(name: try row.string(1)) else { throw PGError(.decoding, "unknown role in memberships") }
            return MembershipRecord(identityID: id, role: role, grantedAtMs: try row.timestampMs(2),
                                    grantedBy: try row.optionalUUID(3), responsibleSites: sites[id] ?? [])
        }
    }

    /// The number of owners of the tenant.
    static func ownerCount(_ tx: borrowing TenantTransaction) throws -> Int64 {
        try tx.query("SELECT count(*) FROM wattline.memberships WHERE role = 'owner'")[0].int64(0)
    }

    /// The caller's role in the transaction's tenant: a person's as the store holds it now (a
    /// token may be minutes old), an integration's from its grants; nil for anybody else.
    static func callerRole(_ caller: Principal, _ tx: borrowing TenantTransaction) throws -> TenantRole? {
        switch caller {
        case .person:
            guard let id = caller.personID,
                  let row = try tx.query("SELECT role FROM wattline.memberships WHERE identity_id = $1", [.uuid(id)]).first
            else { return nil }
            return TenantRole(name: try row.string(0))
        case .integration(_, let grants):
            return grants.tenantRoles[tx.tenant.description]
        case .logger, .anonymous:
            return nil
        }
    }
}
