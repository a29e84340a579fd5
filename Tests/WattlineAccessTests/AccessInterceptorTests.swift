import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineProtos
import WattlineWire

/// Sessions the identity service has ended, and the loggers it knows, held in memory for the test.
final class FixedDirectory: CredentialDirectory {
    let revoked = NIOLockedValueBox<Set<String>>([])
    func logger(certificateSHA256: String) async throws -> LoggerIdentity? { nil }
    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? { nil }
    func isSessionRevoked(_ sessionID: String) async throws -> Bool { revoked.withLockedValue { $0.contains(sessionID) } }
}

/// A method the contracts do not have, so the policy cannot declare it.
enum UndeclaredMethod: ProtoMethod {
    typealias Request = HealthV1.CheckRequest
    typealias Response = HealthV1.CheckResponse
    static let path = "/wattline.test.v1.TestService/Undeclared"
    static let kind = ProtoCallKind.unary
}

@Suite("Access interceptor over a real connection")
struct AccessInterceptorTests {
    static let tenant = "0190f5a8-0000-7000-8000-00000000000a"
    static let other = "0190f5a8-0000-7000-8000-00000000000b"

    struct Setup {
        let server: Channel
        let client: WattlineClient
        let issuer: AccessTokenIssuer
        let directory: FixedDirectory
        let seen: NIOLockedValueBox<[String]>
    }

    static func setUp() async throws -> Setup {
        let key = try Ed25519SigningKey.generate()
        let issuer = try AccessTokenIssuer(signingKey: key, issuer: "wattline-test", audience: "wattline")
        let verifier = try AccessTokenVerifier(keys: [key.keyID: key.publicKey], issuer: "wattline-test", audience: "wattline")
        let directory = FixedDirectory()
        let seen = NIOLockedValueBox<[String]>([])
        var router = Router()
        router.intercept(AccessInterceptor(verifier: verifier, directory: directory))
        router.unary(HealthV1.HealthService.Check.self) { _, _ in .with { $0.status = .serving } }
        router.unary(ImsV1.ImsService.Login.self) { _, _ in .init() }
        router.unary(TelemetryV1.QueryService.ReadLatest.self) { _, context in
            seen.withLockedValue { $0.append("\(context.tenantID ?? "-") \(String(describing: context.principal as? Principal))") }
            return .init()
        }
        router.unary(TenancyV1.SiteService.CreateSite.self) { _, _ in .init() }
        router.unary(UndeclaredMethod.self) { _, _ in .init() }
        let frozen = router
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
        return Setup(server: server, client: client, issuer: issuer, directory: directory, seen: seen)
    }

    static func uuidBytes(_ text: String) -> [UInt8] {
        let uuid = UUID(uuidString: text)!.uuid
        return withUnsafeBytes(of: uuid) { Array($0) }
    }

    static func readLatest(in tenant: String) -> TelemetryV1.ReadLatestRequest {
        var request = TelemetryV1.ReadLatestRequest()
        request.tenantID = uuidBytes(tenant)
        return request
    }

    static func createSite(in tenant: String) -> TenancyV1.CreateSiteRequest {
        var request = TenancyV1.CreateSiteRequest()
        request.tenantID = uuidBytes(tenant)
        return request
    }

    static func code(_ body: () async throws -> Void) async -> UInt32? {
        do {
            try await body()
            return 0
        } catch let error as RPCError {
            return error.code
        } catch {
            return nil
        }
    }

    @Test("no credentials: public methods open, the rest UNAUTHENTICATED; undeclared methods denied")
    func anonymous() async throws {
        let setup = try await Self.setUp()
        defer { setup.server.close(promise: nil) }
        let client = setup.client
        #expect(try await client.unary(HealthV1.HealthService.Check.self, .init()).status == .serving)
        #expect(await Self.code { _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, Self.readLatest(in: Self.tenant)) } == 16)
        #expect(await Self.code { _ = try await client.unary(UndeclaredMethod.self, .init()) } == 7)
        // A stale token on a public method is ignored rather than refused.
        #expect(await Self.code { _ = try await client.unary(ImsV1.ImsService.Login.self, .init(), authorization: "Bearer junk") } == 0)
        await client.close()
    }

    @Test("a viewer's token opens reads in its tenant with the principal and tenant set; writes are PERMISSION_DENIED")
    func roles() async throws {
        let setup = try await Self.setUp()
        defer { setup.server.close(promise: nil) }
        let token = try setup.issuer.issue(
            subject: "0190f5a8-0000-7000-8000-0000000000f1", sessionID: "0190f5a8-0000-7000-8000-0000000000e1",
            tenantID: Self.tenant, roles: ["tenant:\(Self.tenant):viewer"])
        let client = setup.client
        #expect(await Self.code {
            _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, Self.readLatest(in: Self.tenant), authorization: "Bearer \(token.value)")
        } == 0)
        let seen = setup.seen.withLockedValue { $0 }
        #expect(seen.count == 1)
        #expect(seen.first?.hasPrefix(Self.tenant) == true)
        #expect(seen.first?.contains("person") == true)
        #expect(await Self.code {
            _ = try await client.unary(TenancyV1.SiteService.CreateSite.self, Self.createSite(in: Self.tenant), authorization: token.value)
        } == 7)

        // The same role in another tenant grants nothing here.
        let elsewhere = try setup.issuer.issue(
            subject: "0190f5a8-0000-7000-8000-0000000000f1", sessionID: "0190f5a8-0000-7000-8000-0000000000e2",
            tenantID: Self.tenant, roles: ["tenant:\(Self.other):owner"])
        #expect(await Self.code {
            _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, Self.readLatest(in: Self.tenant), authorization: elsewhere.value)
        } == 7)
        // A request naming another tenant is refused, one naming none is malformed.
        #expect(await Self.code {
            _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, Self.readLatest(in: Self.other), authorization: token.value)
        } == 7)
        #expect(await Self.code {
            _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, .init(), authorization: token.value)
        } == 3)
        #expect(setup.seen.withLockedValue { $0.count } == 1)
        await client.close()
    }

    @Test("expired, tampered, foreign and revoked tokens are UNAUTHENTICATED")
    func badTokens() async throws {
        let setup = try await Self.setUp()
        defer { setup.server.close(promise: nil) }
        let client = setup.client
        let session = "0190f5a8-0000-7000-8000-0000000000e3"
        let good = try setup.issuer.issue(subject: "0190f5a8-0000-7000-8000-0000000000f2", sessionID: session,
                                          tenantID: Self.tenant, roles: ["tenant:\(Self.tenant):admin"])
        let expired = try setup.issuer.issue(subject: "0190f5a8-0000-7000-8000-0000000000f2", sessionID: session,
                                             tenantID: Self.tenant, roles: ["tenant:\(Self.tenant):admin"],
                                             now: UnixTime.now() - 3_600)
        var tampered = Array(good.value.utf8)
        tampered[tampered.count / 2] ^= 0x01
        let foreignKey = try Ed25519SigningKey.generate()
        let foreign = try AccessTokenIssuer(signingKey: foreignKey, issuer: "wattline-test", audience: "wattline")
            .issue(subject: "0190f5a8-0000-7000-8000-0000000000f2", sessionID: session, tenantID: Self.tenant,
                   roles: ["tenant:\(Self.tenant):admin"])
        for token in [expired.value, String(decoding: tampered, as: UTF8.self), foreign.value] {
            #expect(await Self.code {
                _ = try await client.unary(TelemetryV1.QueryService.ReadLatest.self, Self.readLatest(in: Self.tenant), authorization: token)
            } == 16)
        }
        #expect(await Self.code { _ = try await client.unary(TenancyV1.SiteService.CreateSite.self, Self.createSite(in: Self.tenant), authorization: good.value) } == 0)
        setup.directory.revoked.withLockedValue { _ = $0.insert(session) }  // logout
        #expect(await Self.code { _ = try await client.unary(TenancyV1.SiteService.CreateSite.self, Self.createSite(in: Self.tenant), authorization: good.value) } == 16)
        await client.close()
    }

    @Test("a remembered token stops working when it expires or its key leaves the ring")
    func rememberedTokens() async throws {
        let key = try Ed25519SigningKey.generate()
        let issuer = try AccessTokenIssuer(signingKey: key, issuer: "i", audience: "a", lifetime: .seconds(1))
        let verifier = try AccessTokenVerifier(keys: [key.keyID: key.publicKey], issuer: "i", audience: "a", leeway: .zero)
        let interceptor = AccessInterceptor(verifier: verifier, directory: FixedDirectory())
        func call(_ token: AccessToken) async -> UInt32 {
            let context = CallContext(
                method: TelemetryV1.QueryService.ReadLatest.path, kind: .unary, deadline: nil, metadata: [],
                authorization: token.value, peer: PeerIdentity())
            do {
                _ = try await interceptor.intercept(context) { _ in 0 }
                return 0
            } catch let failure as CallFailure {
                return failure.code
            } catch {
                return 2
            }
        }
        let roles = ["tenant:\(Self.tenant):viewer"]
        let shortLived = try issuer.issue(subject: "0190f5a8-0000-7000-8000-0000000000f1",
                                          sessionID: "0190f5a8-0000-7000-8000-0000000000e1", tenantID: Self.tenant, roles: roles)
        #expect(await call(shortLived) == 0)
        #expect(await call(shortLived) == 0, "remembered")
        try await Task.sleep(for: .milliseconds(2_100))
        #expect(await call(shortLived) == 16, "expired, remembered or not")

        let longer = try AccessTokenIssuer(signingKey: key, issuer: "i", audience: "a")
            .issue(subject: "0190f5a8-0000-7000-8000-0000000000f1", sessionID: "0190f5a8-0000-7000-8000-0000000000e1",
                   tenantID: Self.tenant, roles: roles)
        #expect(await call(longer) == 0)
        verifier.replaceKeys([:])  // the key is withdrawn
        #expect(await call(longer) == 16)
    }
}
