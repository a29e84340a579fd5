import Foundation
import NIOCore
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
        let service = try await ImsService.open(
            imsConninfo: database.imsConninfo, master: master, issuer: issuer, verifier: verifier,
            hasher: hasher, configuration: configuration)
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
                                 verifier: verifier, server: server, client: client)
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
