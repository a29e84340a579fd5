import Foundation
import NIOCore
import Synchronization
import NIOPosix
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineTestSupport
import WattlineWire

/// This target's databases come from a template of its own (see WattlineTestSupport).
extension TestDatabase {
    static func create() throws -> TestDatabase {
        try create(template: "wattline_ims_test_template", prefix: "wl_imstest_")
    }
}

/// Cheap argon2id for tests (the production defaults cost ~80 ms per hash).
let testHasher = try! PasswordHasher(parameters: .init(memoryKiB: 1_024, iterations: 1, parallelism: 1))

/// A real IMS over a real connection: a fresh database, the service as `wattline_ims`, a
/// Router with it behind `ServerConnectionHandler` on a loopback port, and an SDK client.
struct IMSFixture {
    let database: TestDatabase
    let store: Store
    let keyring: IMSKeyring
    let service: ImsService
    let admin: ImsAdmin
    let verifier: AccessTokenVerifier
    let server: Channel
    let client: WattlineClient
    /// Memberships and site responsibilities (the tenancy side), in memory.
    let tenants: TestTenantDirectory
    /// Every invitation and reset message the service handed over.
    let notifier: CapturingNotifier
    var ims: ImsV1.ImsService.Client { ImsV1.ImsService.Client(client) }

    static let password = "correct horse battery staple"

    static func with(
        hasher: PasswordHasher = testHasher, interceptor: Bool = false,
        _ configure: (inout ImsConfiguration) -> Void = { _ in }, _ body: (IMSFixture) async throws -> Void
    ) async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var configuration = ImsConfiguration()
        configuration.throttle.delay = .zero
        configuration.throttle.sourceLockoutThreshold = 1_000
        configure(&configuration)
        let signing = try Ed25519SigningKey.generate()
        let issuer = try AccessTokenIssuer(signingKey: signing, issuer: "https://ims.test", audience: "wattline")
        let verifier = try AccessTokenVerifier(
            keys: [signing.keyID: signing.publicKey], issuer: "https://ims.test", audience: "wattline")
        let master = try MasterKey(SecretKey.random())
        let tenants = TestTenantDirectory()
        let notifier = CapturingNotifier()
        let service = try await ImsService.open(
            imsConninfo: database.imsConninfo, master: master, issuer: issuer, verifier: verifier,
            tenants: tenants, notifier: notifier, hasher: hasher, configuration: configuration)
        let store = try await Store.open(.init(conninfo: database.imsConninfo, poolSize: 1))
        let keyring = IMSKeyring(master: master)
        // The service keeps its own keyring over the same master key: same keys, same indexes.
        let admin = ImsAdmin(store: store, keyring: keyring, hasher: hasher)
        var router = Router()
        if interceptor {
            router.intercept(AccessInterceptor(verifier: verifier, directory: IMSDirectory(service: service)))
        }
        service.register(in: &router)
        let frozen = router
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
        let fixture = IMSFixture(database: database, store: store, keyring: keyring, service: service, admin: admin,
                                 verifier: verifier, server: server, client: client, tenants: tenants, notifier: notifier)
        do {
            try await body(fixture)
        } catch {
            await fixture.close()
            throw error
        }
        await fixture.close()
    }

    func close() async {
        await client.close()
        try? await server.close()
        service.shutdown()
        store.shutdown()
    }

    func login(_ email: String, _ password: String = password, device: String = "test device") async throws -> ImsV1.LoginResponse {
        return try await ims.login(.with {
            $0.email = email
            $0.password = password
            $0.client = .with { $0.appName = "Wattline tests"; $0.deviceName = device }
        })
    }

    /// The status of a sign-in that must fail (nil if it succeeded).
    func loginFailure(_ email: String, _ password: String) async -> (code: UInt32, message: String)? {
        do {
            _ = try await login(email, password)
            return nil
        } catch let error as RPCError {
            return (error.code, error.message)
        } catch {
            return (999, "\(error)")
        }
    }

    func refresh(_ token: String) async throws -> ImsV1.RefreshResponse {
        try await ims.refresh(.with { $0.refreshToken = token })
    }

    func bearer(_ token: String) -> CallOptions { CallOptions(authorization: token) }

    /// The status code and message of a call that must fail.
    ///
    /// Bind the result to a constant before `#expect`ing on it: with Swift 6.3.1, a closure
    /// literal written inside `#expect(...)` within an enclosing closure (such as `with`'s body)
    /// made a *later* closure literal of the same shape run the earlier one's body (seen: a
    /// `failure { login("ghost@…") }` sent the `login("lock@…", "wrong…")` of an `#expect` above).
    func failure<T>(_ call: () async throws -> T) async -> (code: UInt32, message: String)? {
        do {
            _ = try await call()
            return nil
        } catch let error as RPCError {
            return (error.code, error.message)
        } catch {
            return (999, "\(error)")
        }
    }

    /// An admin connection for looking at raw rows.
    func adminConnection() throws -> PGConnection { try PGConnection(conninfo: database.adminConninfo) }
}

extension UUID {
    var testBytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }

    init?(testBytes bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }
}

/// The access interceptor's view of the IMS: sessions only (no loggers in these tests).
struct IMSDirectory: CredentialDirectory {
    let service: ImsService
    func logger(certificateSHA256: String) async throws -> LoggerIdentity? { nil }
    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? { nil }
    func isSessionRevoked(_ sessionID: String) async throws -> Bool { try await service.isSessionRevoked(sessionID) }
}

/// The tenancy side's `TenantDirectory`, in memory (the real one is in WattlineTenancy, which this
/// target does not import): memberships per tenant and the sites each person is Responsible for.
final class TestTenantDirectory: TenantDirectory {
    private struct State {
        var members: [String: [String: TenantRole]] = [:]  // tenant → identity → role
        var responsible: [String: [String: String]] = [:]  // identity → site → tenant
        var refuseAdds = false
    }
    private let state = Mutex(State())

    func setMember(_ identity: UUID, _ tenant: UUID, _ role: TenantRole?) {
        state.withLock { $0.members[tenant.uuidString.lowercased(), default: [:]][identity.uuidString.lowercased()] = role }
    }

    func setResponsible(_ identity: UUID, sites: [UUID], in tenant: UUID) {
        state.withLock {
            $0.responsible[identity.uuidString.lowercased()] = Dictionary(
                uniqueKeysWithValues: sites.map { ($0.uuidString.lowercased(), tenant.uuidString.lowercased()) })
        }
    }

    /// Makes `addMember` fail (as a tenancy database outage would).
    func refuseAdds(_ refuse: Bool) { state.withLock { $0.refuseAdds = refuse } }

    func member(_ identity: UUID, _ tenant: UUID) -> TenantRole? {
        state.withLock { $0.members[tenant.uuidString.lowercased()]?[identity.uuidString.lowercased()] }
    }

    func roleStrings(ofIdentity identityID: String) async throws -> [String] {
        state.withLock { state in
            state.members.compactMap { tenant, members in members[identityID].map { "tenant:\(tenant):\($0.name)" } }
                + (state.responsible[identityID] ?? [:]).map { "site:\($0.value):\($0.key):responsible" }
        }
    }

    func role(ofIdentity identityID: String, inTenant tenantID: String) async throws -> TenantRole? {
        state.withLock { $0.members[tenantID]?[identityID] }
    }

    struct Refused: Error {}

    func addMember(tenantID: String, identityID: String, role: TenantRole, grantedBy: String?) async throws -> Bool {
        try state.withLock { state in
            if state.refuseAdds { throw Refused() }
            if state.members[tenantID]?[identityID] != nil { return false }
            state.members[tenantID, default: [:]][identityID] = role
            return true
        }
    }
}

/// A `Notifier` that keeps every message, for tests to read the tokens that would be e-mailed.
final class CapturingNotifier: Notifier {
    private let messages = Mutex<(invitations: [InvitationMessage], resets: [PasswordResetMessage])>(([], []))

    var invitations: [InvitationMessage] { messages.withLock { $0.invitations } }
    var resets: [PasswordResetMessage] { messages.withLock { $0.resets } }

    func deliver(_ invitation: InvitationMessage) async { messages.withLock { $0.invitations.append(invitation) } }
    func deliver(_ reset: PasswordResetMessage) async { messages.withLock { $0.resets.append(reset) } }
}

/// 16 fresh bytes as a tenant, site or other id.
func newID() -> UUID { UUID() }

extension UUID {
    var text: String { uuidString.lowercased() }
}

extension IMSFixture {
    /// Creates an identity (optionally a member of `tenant` with `role`) and signs it in.
    @discardableResult
    func person(_ email: String, tenant: UUID? = nil, role: TenantRole? = nil, platformOperator: Bool = false,
                displayName: String? = nil) async throws -> (id: UUID, login: ImsV1.LoginResponse) {
        let id = try await admin.createIdentity(email: email, password: IMSFixture.password, platformOperator: platformOperator,
                                                displayName: displayName)
        if let tenant, let role { tenants.setMember(id, tenant, role) }
        return (id, try await login(email))
    }

    func invite(_ email: String, to tenant: UUID, as role: ImsV1.Role, by login: ImsV1.LoginResponse,
                validFor seconds: UInt32 = 0) async throws -> ImsV1.InviteResponse {
        try await ims.invite(.with {
            $0.tenantID = tenant.testBytes
            $0.email = email
            $0.role = role
            $0.validForSeconds = seconds
        }, options: bearer(login.accessToken))
    }

    func register(_ token: String, password: String = IMSFixture.password, name: String = "New Person",
                  phone: String = "", locale: String = "") async throws -> ImsV1.RegisterWithInvitationResponse {
        try await ims.registerWithInvitation(.with {
            $0.invitationToken = token
            $0.password = password
            $0.displayName = name
            $0.phone = phone
            $0.locale = locale
        })
    }
}
