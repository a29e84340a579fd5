import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineServices
import WattlineStore
import WattlineTenancy
import WattlineTestSupport
import WattlineWire

extension TestDatabase {
    static func create() throws -> TestDatabase {
        try create(template: "wattline_services_test_template", prefix: "wl_servicestest_")
    }
}

/// The whole server as `wattline-server` assembles it (`Services`), over a real database and real
/// sockets, with one principal of every kind made through the real sign-in and tenancy RPCs:
/// people with each role in tenant "own", an outsider who owns tenant "other", a person without
/// roles, the Responsible of site S, a platform operator, two integrations and a logger.
struct ServicesFixture {
    static let password = "matrix test passphrase"

    let database: TestDatabase
    let services: Services
    /// Wraps the tenants' data keys (a test reading sealed rows makes its own `TenantKeyring`).
    let master: MasterKey
    let ownTenant: UUID
    let otherTenant: UUID
    let site_: UUID
    /// The `authorization` each caller sends (none for nobody; a logger's API secret).
    let authorization: [Caller: String]
    /// Channels of the logger's site S (energy, power), and one of another site of the same tenant.
    let siteChannels: [UInt64]
    let otherSiteChannel: UInt64

    static func with(_ body: (ServicesFixture) async throws -> Void) async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let hasher = try PasswordHasher(parameters: .init(memoryKiB: 1_024, iterations: 1, parallelism: 1))
        let master = try MasterKey(SecretKey.random())
        var settings = Services.Settings(
            appConninfo: database.appConninfo, imsConninfo: database.imsConninfo, master: master,
            tokenKeys: try SigningKeyRing(current: Ed25519SigningKey.generate()),
            deviceCA: try DeviceCA.generate(commonName: "Matrix test device CA").ca,
            notifier: NoDeliveryNotifier())
        settings.hasher = hasher
        settings.ims.throttle.delay = .zero
        settings.ims.throttle.sourceLockoutThreshold = 100_000
        settings.compaction = nil  // tests that compact drive it themselves
        let services = try await Services.start(settings, logger: Logger(label: "test"))
        defer { services.shutdown() }

        let server = try await serve(services.router)
        defer { server.close(promise: nil) }
        let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
        let setup = try await Setup(client: client, database: database, master: master, hasher: hasher)
        let fixture = ServicesFixture(
            database: database, services: services, master: master, ownTenant: setup.own, otherTenant: setup.other,
            site_: setup.site, authorization: setup.authorization, siteChannels: setup.siteChannels,
            otherSiteChannel: setup.otherSiteChannel)
        await client.close()
        try await body(fixture)
    }

    /// `with`, the server listening on a real socket, and a client of it.
    static func withServer(_ body: (ServicesFixture, WattlineClient) async throws -> Void) async throws {
        try await with { fixture in
            let server = try await fixture.serve(fixture.services.router)
            defer { server.close(promise: nil) }
            let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
            try await body(fixture, client)
            await client.close()
        }
    }

    func serve(_ router: Router) async throws -> Channel { try await Self.serve(router) }

    static func serve(_ router: Router) async throws -> Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: router))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }
}

/// Makes the principals through the real RPCs, as an administrator would.
struct Setup {
    var own = UUID(), other = UUID(), site = UUID()
    var authorization: [Caller: String] = [:]
    var siteChannels: [UInt64] = []
    var otherSiteChannel: UInt64 = 0

    init(client: WattlineClient, database: TestDatabase, master: MasterKey, hasher: PasswordHasher) async throws {
        let imsStore = try await Store.open(.init(conninfo: database.imsConninfo, poolSize: 1))
        defer { imsStore.shutdown() }
        let admin = ImsAdmin(store: imsStore, keyring: IMSKeyring(master: master), hasher: hasher)
        let ims = ImsV1.ImsService.Client(client)
        func person(_ name: String, operator platformOperator: Bool = false) async throws -> UUID {
            try await admin.createIdentity(email: "\(name)@matrix.test", password: ServicesFixture.password,
                                           platformOperator: platformOperator, displayName: name)
        }
        func login(_ name: String) async throws -> String {
            try await ims.login(.with {
                $0.email = "\(name)@matrix.test"
                $0.password = ServicesFixture.password
            }).accessToken
        }
        func options(_ token: String) -> CallOptions { CallOptions(timeout: .seconds(30), authorization: token) }

        // The operator creates both tenants and invites their first owners.
        _ = try await person("operator", operator: true)
        let operatorToken = try await login("operator")
        let tenants = TenancyV1.TenantService.Client(client)
        own = try uuid(try await tenants.createTenant(.with { $0.name = "Own"; $0.countryCode = "CH" }, options: options(operatorToken)).tenant?.tenantID)
        other = try uuid(try await tenants.createTenant(.with { $0.name = "Other"; $0.countryCode = "DE" }, options: options(operatorToken)).tenant?.tenantID)
        authorization[.platformOperator] = operatorToken

        // People join through invitations, as in production.
        let roles: [(Caller, UUID, ImsV1.Role)] = [
            (.owner, own, .owner), (.admin, own, .admin), (.technician, own, .technician), (.viewer, own, .viewer),
            (.responsible, own, .viewer), (.outsider, other, .owner),
        ]
        for (caller, tenant, role) in roles {
            let invitation = try await ims.invite(.with {
                $0.tenantID = bytes(tenant)
                $0.email = "\(caller)@matrix.test"
                $0.role = role
            }, options: options(operatorToken))
            _ = try await ims.registerWithInvitation(.with {
                $0.invitationToken = invitation.invitationToken
                $0.password = ServicesFixture.password
                $0.displayName = "\(caller)"
            })
        }
        _ = try await person("roleless")
        let ownerToken = try await login("owner")

        // Site S, whose Responsible is the "responsible" viewer.
        let responsibleID = try await ims.whoAmI(.init(), options: options(try await login("responsible"))).identityID
        site = try uuid(try await TenancyV1.SiteService.Client(client).createSite(.with {
            $0.tenantID = bytes(own)
            $0.name = "Site S"
            $0.address = .with { $0.lines = ["Bahnhofstrasse 1", "8001 Zürich"]; $0.countryCode = "CH" }
            $0.timeZone = "Europe/Zurich"
            $0.responsibleIdentityID = responsibleID
        }, options: options(ownerToken)).site?.siteID)

        for caller in [Caller.owner, .admin, .technician, .viewer, .responsible, .outsider, .roleless] {
            authorization[caller] = try await login("\(caller)")  // after the site: the Responsible's token names it
        }

        // Integrations of tenant "own", and a logger at site S with an API secret.
        let integrations = ImsV1.IntegrationCredentialService.Client(client)
        for (caller, role) in [(Caller.integrationViewer, ImsV1.Role.viewer), (.integrationTechnician, .technician)] {
            let issued = try await integrations.issueIntegrationCredential(.with {
                $0.tenantID = bytes(own)
                $0.name = "\(caller)"
                $0.role = role
            }, options: options(ownerToken))
            authorization[caller] = try await integrations.exchangeClientCredentials(.with {
                $0.credentialID = issued.credential?.credentialID ?? []
                $0.clientSecret = issued.clientSecret
            }).accessToken
        }
        let loggers = TenancyV1.LoggerService.Client(client)
        let logger = try await loggers.registerLogger(.with {
            $0.tenantID = bytes(own)
            $0.siteID = bytes(site)
            $0.serialNumber = "MATRIX-1"
            $0.model = "WL-100"
        }, options: options(ownerToken)).logger
        let issued = try await loggers.provisionLoggerCredential(.with {
            $0.tenantID = bytes(own)
            $0.loggerID = logger?.loggerID ?? []
            $0.material = .with { $0.material = .apiSecret(.init()) }
        }, options: options(ownerToken)).issued
        guard case .apiSecret(let secret) = issued?.issued else { throw CallFailure.internalError("no API secret issued") }
        authorization[.logger] = secret

        // A meter with two channels behind the logger; a second site with a logger and a channel.
        let meters = TenancyV1.MeterService.Client(client)
        func channels(behind loggerID: [UInt8], _ quantities: [(TenancyV1.Quantity, String, Bool)]) async throws -> [UInt64] {
            let meter = try await meters.createMeter(.with {
                $0.tenantID = bytes(own)
                $0.loggerID = loggerID
                $0.modbusAddress = 1
                $0.name = "Main meter"
            }, options: options(ownerToken)).meter
            var ids: [UInt64] = []
            for (quantity, unit, cumulative) in quantities {
                ids.append(try await meters.createChannel(.with {
                    $0.tenantID = bytes(own)
                    $0.meterID = meter?.meterID ?? []
                    $0.quantity = quantity
                    $0.unit = unit
                    $0.cumulative = cumulative
                    $0.decimalPlaces = 2
                }, options: options(ownerToken)).channel?.channelID ?? 0)
            }
            return ids
        }
        siteChannels = try await channels(behind: logger?.loggerID ?? [], [(.activeEnergy, "kWh", true), (.activePower, "kW", false)])
        let secondSite = try uuid(try await TenancyV1.SiteService.Client(client).createSite(.with {
            $0.tenantID = bytes(own)
            $0.name = "Site T"
            $0.address = .with { $0.lines = ["Rue du Rhône 2", "1204 Genève"]; $0.countryCode = "CH" }
            $0.timeZone = "Europe/Zurich"
            $0.responsibleIdentityID = responsibleID
        }, options: options(ownerToken)).site?.siteID)
        let secondLogger = try await loggers.registerLogger(.with {
            $0.tenantID = bytes(own)
            $0.siteID = bytes(secondSite)
            $0.serialNumber = "MATRIX-2"
            $0.model = "WL-100"
        }, options: options(ownerToken)).logger
        otherSiteChannel = try await channels(behind: secondLogger?.loggerID ?? [], [(.voltage, "V", false)])[0]
    }
}

func bytes(_ id: UUID) -> [UInt8] { withUnsafeBytes(of: id.uuid) { Array($0) } }

func uuid(_ bytes: [UInt8]?) throws -> UUID {
    guard let bytes, bytes.count == 16 else { throw CallFailure.internalError("not a 16-byte id") }
    return UUID(uuid: bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) })
}
