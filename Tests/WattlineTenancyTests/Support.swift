import Foundation
import Synchronization
import Testing
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport
import WattlineWire
@testable import WattlineTenancy

/// This target's databases come from a template of its own (see WattlineTestSupport).
extension TestDatabase {
    static func create() throws -> TestDatabase {
        try create(template: "wattline_tenancy_test_template", prefix: "wl_tenancytest_")
    }
}

/// The identity service's side of the seam, in memory: WattlineTenancy may not import WattlineIMS.
final class MemoryPeople: PeopleDirectory {
    private let known = Mutex<[String: PersonSummary]>([:])

    func add(_ id: UUID, email: String, displayName: String) {
        known.withLock { $0[id.lowercased] = PersonSummary(email: email, displayName: displayName) }
    }

    func people(_ identityIDs: [String]) async throws -> [String: PersonSummary] {
        known.withLock { known in identityIDs.reduce(into: [:]) { found, id in found[id] = known[id] } }
    }
}

/// gRPC status codes the tests expect.
enum Status {
    static let invalidArgument: UInt32 = 3
    static let notFound: UInt32 = 5
    static let alreadyExists: UInt32 = 6
    static let permissionDenied: UInt32 = 7
    static let failedPrecondition: UInt32 = 9
}

/// The `CallFailure` a call ended with, or nil when it succeeded (or failed otherwise).
func failure<T>(_ body: () async throws -> T) async -> CallFailure? {
    do {
        _ = try await body()
        return nil
    } catch let failure as CallFailure {
        return failure
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

/// Expects `body` to fail with the status `code` (a helper, so that no closure sits inside
/// `#expect` within the fixture's closure).
func expectFailure<T>(_ code: UInt32, sourceLocation: SourceLocation = #_sourceLocation, _ body: () async throws -> T) async {
    let failed = await failure(body)
    #expect(failed?.code == code, "\(failed.map(String.init(describing:)) ?? "succeeded")", sourceLocation: sourceLocation)
}

/// A fresh database, the services as `wattline_app`, and callers to call them as. Handlers are
/// called directly with the context `AccessInterceptor` would set (principal and call's tenant).
struct Fixture {
    let database: TestDatabase
    let store: Store
    let keyring: TenantKeyring
    let people: MemoryPeople
    let services: TenancyServices
    let directory: StoreTenantDirectory
    let operatorID = UUID.v7()

    var tenants: TenantService { services.tenants }
    var sites: SiteService { services.sites }
    var memberships: MembershipService { services.memberships }
    var meters: MeterService { services.meters }

    static func with(_ body: (Fixture) async throws -> Void) async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = try await Store.open(.init(conninfo: database.appConninfo, poolSize: 2))
        defer { store.shutdown() }
        let keyring = TenantKeyring(master: try MasterKey(SecretKey.random()))
        let people = MemoryPeople()
        let fixture = Fixture(database: database, store: store, keyring: keyring, people: people,
                              services: TenancyServices(store: store, keyring: keyring, people: people),
                              directory: StoreTenantDirectory(store: store))
        try await body(fixture)
    }

    // MARK: Callers

    /// A call context as `AccessInterceptor` leaves it.
    func context(_ principal: Principal, tenant: UUID? = nil) -> CallContext {
        var context = CallContext(method: "/test", kind: .unary, deadline: nil, metadata: [], authorization: "", peer: PeerIdentity())
        context.principal = principal
        context.tenantID = tenant?.lowercased
        return context
    }

    var platformOperator: Principal {
        .person(identityID: operatorID.lowercased, sessionID: UUID().lowercased, grants: Grants(platformOperator: true))
    }

    /// A person with the role the token would carry (handlers read finer rules from the store).
    func person(_ id: UUID, _ role: TenantRole? = nil, in tenant: UUID? = nil) -> Principal {
        var grants = Grants()
        if let role, let tenant { grants.tenantRoles[tenant.lowercased] = role }
        return .person(identityID: id.lowercased, sessionID: UUID().lowercased, grants: grants)
    }

    // MARK: Set-up through the services

    func createTenant(_ name: String, country: String = "CH") async throws -> UUID {
        var request = TenancyV1.CreateTenantRequest()
        request.name = name
        request.legalName = name + " AG"
        request.countryCode = country
        let tenant = try await tenants.createTenant(request, context(platformOperator)).tenant
        return try #require(UUID(bytes: tenant?.tenantID ?? []))
    }

    /// A known person who is a member with `role` (through the directory, as an invitation would).
    @discardableResult
    func member(_ tenant: UUID, _ role: TenantRole, name: String = "Person") async throws -> UUID {
        let id = UUID.v7()
        people.add(id, email: "\(name.lowercased())@example.com", displayName: name)
        let added = try await directory.addMember(tenantID: tenant.lowercased, identityID: id.lowercased, role: role, grantedBy: nil)
        #expect(added)
        return id
    }

    func createSite(_ tenant: UUID, _ name: String, responsible: UUID, as caller: Principal? = nil) async throws -> TenancyV1.Site {
        var request = TenancyV1.CreateSiteRequest()
        request.tenantID = tenant.bytes
        request.name = name
        request.address = Self.address
        request.timeZone = "Europe/Zurich"
        request.responsibleIdentityID = responsible.bytes
        return try #require(try await sites.createSite(request, context(caller ?? person(responsible), tenant: tenant)).site)
    }

    static var address: TenancyV1.Address {
        var address = TenancyV1.Address()
        address.lines = ["Bahnhofstrasse 1", "8001 Zürich"]
        address.countryCode = "CH"
        return address
    }

    /// A logger row (the loggers table is WattlineCredentials'; written here directly).
    func insertLogger(_ tenant: UUID, site: [UInt8], status: String = "active") async throws -> UUID {
        let id = UUID.v7()
        let siteID = try #require(UUID(bytes: site))
        try await store.transaction(tenant: TenantID(tenant)) { tx in
            try tx.query("""
                INSERT INTO wattline.loggers (tenant_id, logger_id, site_id, serial_enc, model, status)
                VALUES ($1, $2, $3, $4, 'WL-1', $5)
                """, [.uuid(tenant), .uuid(id), .uuid(siteID), .bytea([0]), .text(status)])
        }
        return id
    }

    /// The raw bytes of one column, read as the administrative role (bypassing row-level security).
    func rawBytes(_ sql: String, _ parameters: [PGValue]) throws -> [UInt8] {
        let admin = try PGConnection(conninfo: database.adminConninfo)
        return try admin.query(sql, parameters)[0].bytes(0)
    }
}
