import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport
import WattlineWire

/// This target's databases come from a template of its own (see WattlineTestSupport).
extension TestDatabase {
    static func create() throws -> TestDatabase {
        try create(template: "wattline_credentials_test_template", prefix: "wl_credtest_")
    }
}

/// One device CA for the whole target (key generation is cheap, but there is no need to repeat it).
let testCA = try! DeviceCA.generate(commonName: "Wattline device CA (credentials test)")

/// The services over a fresh database as `wattline_app`, with tenants and sites made by plain SQL
/// (the tenancy module is not a dependency). Handlers are called as the router would after the
/// access interceptor: with the principal and the tenant it sets.
struct Fixture {
    let database: TestDatabase
    let store: Store
    let keyring: TenantKeyring
    let registry: CredentialRegistry
    let loggers: LoggerService
    let integrations: IntegrationCredentialService
    let verifier: AccessTokenVerifier

    static func with(_ body: (Fixture) async throws -> Void) async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let store = try await Store.open(.init(conninfo: database.appConninfo, poolSize: 2))
        defer { store.shutdown() }
        let keyring = TenantKeyring(master: try MasterKey(SecretKey.random()))
        let registry = CredentialRegistry(store: store)
        let signing = try Ed25519SigningKey.generate()
        let issuer = try AccessTokenIssuer(signingKey: signing, issuer: "https://ims.test", audience: "wattline")
        let verifier = try AccessTokenVerifier(keys: [signing.keyID: signing.publicKey], issuer: "https://ims.test", audience: "wattline")
        let fixture = Fixture(
            database: database, store: store, keyring: keyring, registry: registry,
            loggers: LoggerService(store: store, keyring: keyring, deviceCA: testCA.ca, registry: registry),
            integrations: IntegrationCredentialService(
                store: store, keyring: keyring, registry: registry, issuer: issuer, failuresPerSource: 5, failuresPerCredential: 5),
            verifier: verifier)
        try await body(fixture)
    }

    /// A tenant with one site, inserted as the server's role within the tenant's scope.
    func makeTenant() async throws -> (tenant: UUID, site: UUID) {
        let tenant = UUID()
        let site = UUID()
        let keyring = keyring
        try await store.transaction(tenant: TenantID(tenant)) { tx in
            try keyring.ensureKey(tx)
            try tx.query("INSERT INTO wattline.tenants (tenant_id, name_enc) VALUES ($1, $2)", [.uuid(tenant), .bytea([0])])
            try tx.query("INSERT INTO wattline.sites (tenant_id, site_id, name_enc, time_zone) VALUES ($1, $2, $3, 'Europe/Zurich')",
                         [.uuid(tenant), .uuid(site), .bytea([0])])
        }
        return (tenant, site)
    }

    /// A second site in `tenant`.
    func makeSite(in tenant: UUID) async throws -> UUID {
        let site = UUID()
        try await store.transaction(tenant: TenantID(tenant)) { tx in
            try tx.query("INSERT INTO wattline.sites (tenant_id, site_id, name_enc, time_zone) VALUES ($1, $2, $3, 'UTC')",
                         [.uuid(tenant), .uuid(site), .bytea([0])])
        }
        return site
    }

    func register(_ tenant: UUID, site: UUID, serial: String, model: String = "WL-100") async throws -> TenancyV1.Logger {
        var request = TenancyV1.RegisterLoggerRequest()
        request.tenantID = tenant.bytes
        request.siteID = site.bytes
        request.serialNumber = serial
        request.model = model
        request.firmwareVersion = "1.2.3"
        request.name = "Boiler room"
        return try #require(try await loggers.registerLogger(request, technician(tenant)).logger)
    }

    func provision(
        _ tenant: UUID, logger: [UInt8], _ material: TenancyV1.CredentialMaterial.Material, validFor: UInt32 = 0
    ) async throws -> TenancyV1.IssuedLoggerCredential {
        var request = TenancyV1.ProvisionLoggerCredentialRequest()
        request.tenantID = tenant.bytes
        request.loggerID = logger
        var material = TenancyV1.CredentialMaterial(material)
        material.validForSeconds = validFor
        request.material = material
        return try #require(try await loggers.provisionCredential(request, technician(tenant)).issued)
    }

    func getLogger(_ tenant: UUID, _ logger: [UInt8], as principal: Principal? = nil) async throws -> TenancyV1.Logger {
        var request = TenancyV1.GetLoggerRequest()
        request.tenantID = tenant.bytes
        request.loggerID = logger
        return try #require(try await loggers.getLogger(request, context(tenant, principal ?? viewerPrincipal(tenant))).logger)
    }
}

extension TenancyV1.CredentialMaterial {
    init(_ material: Material) {
        self.init()
        self.material = material
    }
}

// MARK: Principals and contexts

func context(_ tenant: UUID, _ principal: Principal) -> CallContext {
    var context = CallContext(
        method: "/test", kind: .unary, deadline: nil, metadata: [], authorization: "",
        peer: PeerIdentity(remoteAddress: "[IPv4]127.0.0.1/127.0.0.1:50312"))
    context.principal = principal
    context.tenantID = tenant.uuidString.lowercased()
    return context
}

func person(_ tenant: UUID, _ role: TenantRole) -> Principal {
    .person(identityID: UUID().uuidString.lowercased(), sessionID: UUID().uuidString.lowercased(),
            grants: Grants(tenantRoles: [tenant.uuidString.lowercased(): role]))
}

func viewerPrincipal(_ tenant: UUID) -> Principal { person(tenant, .viewer) }
func technician(_ tenant: UUID) -> CallContext { context(tenant, person(tenant, .technician)) }
func admin(_ tenant: UUID) -> CallContext { context(tenant, person(tenant, .admin)) }

/// The logger principal a credential authenticates as.
func loggerPrincipal(_ identity: LoggerIdentity) -> Principal {
    .logger(loggerID: identity.loggerID, siteID: identity.siteID, tenantID: identity.tenantID, credentialID: identity.credentialID)
}

// MARK: Outcomes

/// The `CallFailure` a call ends with, or nil when it succeeds (another error is a test failure).
func failure(_ body: () async throws -> Void) async -> CallFailure? {
    do {
        try await body()
        return nil
    } catch let failure as CallFailure {
        return failure
    } catch {
        Issue.record("expected a CallFailure, got \(error)")
        return nil
    }
}

func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

func sha256Hex(_ bytes: [UInt8]) throws -> String { hex(try WattlineCrypto.sha256(bytes)) }

extension UUID {
    var text: String { uuidString.lowercased() }
}

/// A DER CSR for a fresh key, made by the openssl CLI as a logger would (docs/identity.md).
func makeCSR(ed25519: Bool = false) throws -> [UInt8] {
    try LoggerKeyPair(ed25519: ed25519).csrDER
}

/// A logger's key (`logger.key`) and CSR, made with the openssl CLI in a scratch directory that
/// goes away with the value.
final class LoggerKeyPair {
    let directory: String
    let csrDER: [UInt8]
    var keyPath: String { directory + "/logger.key" }

    init(ed25519: Bool = false) throws {
        directory = NSTemporaryDirectory() + "wattline-cred-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let key = ed25519
            ? ["genpkey", "-algorithm", "ED25519", "-out", "logger.key"]
            : ["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "logger.key"]
        try Self.openssl(key, in: directory)
        try Self.openssl(["req", "-new", "-key", "logger.key", "-subj", "/CN=ignored", "-outform", "DER", "-out", "logger.csr.der"],
                         in: directory)
        csrDER = Array(try Data(contentsOf: URL(fileURLWithPath: directory + "/logger.csr.der")))
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    static func openssl(_ arguments: [String], in directory: String) throws {
        let result = runSynchronously(["/usr/bin/openssl"] + arguments, in: directory)
        guard result.status == 0 else { throw CSRError(message: "openssl \(arguments.joined(separator: " ")): \(result.output)") }
    }
}

struct CSRError: Error, CustomStringConvertible {
    let message: String
    var description: String { message }
}

/// DER → PEM with the given label, 64 characters a line.
func pem(_ der: [UInt8], label: String) -> String {
    let base64 = Data(der).base64EncodedString()
    var lines: [Substring] = []
    var rest = Substring(base64)
    while !rest.isEmpty {
        lines.append(rest.prefix(64))
        rest = rest.dropFirst(64)
    }
    return "-----BEGIN \(label)-----\n" + lines.joined(separator: "\n") + "\n-----END \(label)-----\n"
}
