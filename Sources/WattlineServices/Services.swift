import Foundation
import Logging
import WattlineAccess
import WattlineAudit
import WattlineConsent
import WattlinePrivacy
import WattlineCredentials
import WattlineCrypto
import WattlineIMS
import WattlineIngest
import WattlineQuery
import WattlineStore
import WattlineTenancy
import WattlineWire

/// Everything `wattline-server` serves, assembled in one place: the router with every service
/// behind the access interceptor, and the connect-time revocation set its TLS layer asks.
/// Tests assemble the very same (the authorization matrix runs against it).
public final class Services: Sendable {
    public struct Settings: Sendable {
        /// The server's role (`wattline_app`, under row-level security).
        public var appConninfo: String
        /// The identity service's role (`wattline_ims`, schema `ims` only).
        public var imsConninfo: String
        public var master: MasterKey
        /// Signs access tokens with its current key; every node verifies with the published set
        /// (current, staged, retired within retention), without the database.
        public var tokenKeys: SigningKeyRing
        /// Issues logger client certificates; mutual TLS trusts its certificate.
        public var deviceCA: DeviceCA
        /// Delivers invitation and password-reset tokens.
        public var notifier: any Notifier
        public var hasher = PasswordHasher()
        public var ims = ImsConfiguration()
        /// Serve the diagnostic echo service (development, benchmarks).
        public var echo = false
        public var issuer = "wattline"
        public var audience = "wattline"
        /// How often the revocation set is reloaded (other nodes' revocations arrive this late).
        public var revocationRefresh: Duration = .seconds(30)
        /// The background compactor's policy; nil runs none (tests that drive `compactor` themselves).
        public var compaction: CompactionPolicy? = CompactionPolicy()
        /// Signs consent receipts; its public key is published (`receipt_keys`) at start. A
        /// deployment keeps it in a file (`--receipt-key-file`); nil makes one per start (tests).
        public var receiptSigner: Ed25519SigningKey?
        /// How often the compacting node deletes telemetry past each tenant's retention.
        public var retentionInterval: Duration = .seconds(3_600)

        public init(
            appConninfo: String, imsConninfo: String, master: MasterKey, tokenKeys: SigningKeyRing,
            deviceCA: DeviceCA, notifier: any Notifier
        ) {
            self.appConninfo = appConninfo
            self.imsConninfo = imsConninfo
            self.master = master
            self.tokenKeys = tokenKeys
            self.deviceCA = deviceCA
            self.notifier = notifier
        }
    }

    /// Every method, behind `AccessInterceptor`.
    public let router: Router
    /// Logger certificates to refuse at connect (`TLSConfiguration.certificateRevoked`).
    public let revokedCertificates: RevokedCertificates
    public let store: Store
    public let ims: ImsService
    /// Verifies every access token; its keys follow the ring (`reloadTokenKeys`).
    public let verifier: AccessTokenVerifier
    /// The key tokens are signed with until the process restarts.
    public let signingKey: Ed25519PublicKey
    /// The revocation refresher and the compactor.
    private let background: [Task<Void, Never>]
    /// The compactor's own connection, so its long transactions never wait for or hold up the
    /// pool that serves calls and group commits.
    private let compactionStore: Store?

    private init(
        router: Router, revokedCertificates: RevokedCertificates, store: Store, ims: ImsService,
        verifier: AccessTokenVerifier, signingKey: Ed25519PublicKey, background: [Task<Void, Never>], compactionStore: Store?
    ) {
        self.verifier = verifier
        self.signingKey = signingKey
        self.router = router
        self.revokedCertificates = revokedCertificates
        self.store = store
        self.ims = ims
        self.background = background
        self.compactionStore = compactionStore
    }

    public static func start(_ settings: Settings, logger: Logger) async throws -> Services {
        let store = try await Store.open(.init(conninfo: settings.appConninfo)) { logger.info("\($0)", metadata: ["component": "store"]) }
        let keyring = TenantKeyring(master: settings.master)
        let ring = settings.tokenKeys
        let key = ring.current
        let issuer = try ring.issuer(issuer: settings.issuer, audience: settings.audience)
        let verifier = try AccessTokenVerifier(
            keys: ring.verificationKeys(now: UnixTime.now()), issuer: settings.issuer, audience: settings.audience)
        let ims = try await ImsService.open(
            imsConninfo: settings.imsConninfo, master: settings.master, issuer: issuer, verifier: verifier,
            tenants: StoreTenantDirectory(store: store), notifier: settings.notifier, hasher: settings.hasher,
            configuration: settings.ims)
        let registry = CredentialRegistry(store: store)
        try await registry.revokedCertificates.refresh()

        var router = Router()
        router.intercept(AccessInterceptor(
            verifier: verifier, directory: registry.directory { try await ims.isSessionRevoked($0) },
            auditor: AuditRecorder(store: store, logger: logger)))
        HealthService.register(in: &router, store: store)
        if settings.echo { EchoService.register(in: &router) }
        ims.register(in: &router)
        TenancyServices(store: store, keyring: keyring, people: ims.peopleDirectory).register(in: &router)
        LoggerService(store: store, keyring: keyring, deviceCA: settings.deviceCA, registry: registry).register(in: &router)
        IntegrationCredentialService(store: store, keyring: keyring, registry: registry, issuer: issuer).register(in: &router)
        ConnectorSecretService(store: store, keyring: keyring).register(in: &router)
        IngestService(store: store, keyring: keyring).register(in: &router)
        QueryService(store: store, keyring: keyring).register(in: &router)
        AuditService(store: store).register(in: &router)
        let receiptSigner = try settings.receiptSigner ?? Ed25519SigningKey.generate()
        try await ConsentService.publish(receiptSigner, store: store, nowMs: Int64(Date().timeIntervalSince1970 * 1_000))
        ConsentService(store: store, keyring: keyring, signer: receiptSigner).register(in: &router)
        PrivacyService(store: store, keyring: keyring, ims: ims).register(in: &router)

        let revoked = registry.revokedCertificates
        let interval = settings.revocationRefresh
        let refresher = Task {
            while true {
                do { try await Task.sleep(for: interval) } catch { return }  // cancelled: shutting down
                do {
                    try await revoked.refresh()
                } catch {
                    logger.warning("revocation set not refreshed; keeping the previous one: \(error)")
                }
            }
        }
        var background = [refresher]
        var compactionStore: Store?
        if let policy = settings.compaction {
            let own = try await Store.open(.init(conninfo: settings.appConninfo, poolSize: 1, statementTimeout: .seconds(300)))
            compactionStore = own
            let compactor = Compactor(store: own, keyring: keyring, policy: policy)
            let retention = Retention(store: own)
            let retentionInterval = settings.retentionInterval
            background.append(Task {
                var retentionDue = ContinuousClock.now
                while true {
                    if ContinuousClock.now >= retentionDue {
                        retentionDue = ContinuousClock.now + retentionInterval
                        do {
                            let report = try await retention.apply(nowMs: IngestService.nowMs())
                            if report.blocks + report.rollups + report.batches > 0 {
                                logger.info("retention deleted \(report.blocks) blocks, \(report.rollups) rollup chunks and the samples of \(report.batches) batches in \(report.tenants) tenants")
                            }
                        } catch {
                            logger.warning("retention did not run: \(error)")
                        }
                    }
                    do {
                        let report = try await compactor.compactAll { tenant, error in
                            logger.warning("compaction of tenant \(tenant) failed; its batches stay stored: \(error)")
                        }
                        if report.batches > 0 {
                            logger.debug("compacted \(report.batches) batches (\(report.samples) samples) into \(report.blocksWritten) blocks, merging \(report.blocksMerged)")
                        }
                    } catch {
                        logger.warning("compaction did not run: \(error)")
                    }
                    do { try await Task.sleep(for: policy.interval) } catch { return }  // cancelled: shutting down
                }
            })
        }
        logger.info("identity and access ready; access tokens signed with key \(key.keyID); \(revoked.count) logger certificates refused")
        return Services(
            router: router, revokedCertificates: revoked, store: store, ims: ims, verifier: verifier,
            signingKey: key.publicKey, background: background, compactionStore: compactionStore)
    }

    /// Verifies with the ring's published set from now on (a staged key, a retirement, a
    /// revocation). Signing keeps the key the process started with: after a rotation, restart.
    /// Returns whether the ring's current key differs from the one signing here.
    @discardableResult
    public func reloadTokenKeys(_ ring: SigningKeyRing) -> Bool {
        var keys = ring.verificationKeys(now: UnixTime.now())
        keys[signingKey.keyID] = signingKey  // this process still signs with it until it restarts
        verifier.replaceKeys(keys)
        return ring.current.keyID != signingKey.keyID
    }

    public func shutdown() {
        for task in background { task.cancel() }
        compactionStore?.shutdown()
        ims.shutdown()
        store.shutdown()
    }
}
