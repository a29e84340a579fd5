import WattlineAccess
import WattlineStore
import WattlineWire

/// Tenants, sites, memberships, meters and channels (`wattline.tenancy.v1`), served as the
/// `wattline_app` role in the call's tenant scope. Loggers and their credentials are
/// `WattlineCredentials`' (LoggerService).
public struct TenancyServices: Sendable {
    public let tenants: TenantService
    public let sites: SiteService
    public let memberships: MembershipService
    public let meters: MeterService

    public init(store: Store, keyring: TenantKeyring, people: any PeopleDirectory) {
        tenants = TenantService(store: store, keyring: keyring)
        sites = SiteService(store: store, keyring: keyring)
        memberships = MembershipService(store: store, keyring: keyring, people: people)
        meters = MeterService(store: store, keyring: keyring)
    }

    /// Registers every method of the four services.
    public func register(in router: inout Router) {
        tenants.register(in: &router)
        sites.register(in: &router)
        memberships.register(in: &router)
        meters.register(in: &router)
    }
}
