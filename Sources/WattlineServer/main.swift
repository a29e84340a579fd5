// wattline-server: the Wattline back-end process.
//
// It prepares its database and keys, then serves the Wattline protocol over TLS (OpenSSL) on
// --host/--port: identity, tenancy and credentials behind the access interceptor (WattlineServices).
// Logs are logfmt lines on stderr; metrics are scraped from a separate local port (docs/operations.md).
import Foundation
import Logging
import NIOCore
import NIOPosix
import WattlineCrypto
import WattlineIMS
import WattlineObservability
import WattlineProtos
import WattlineServices
import WattlineStore
import WattlineTLS
import WattlineWire

// SIGINT and SIGTERM go to dispatch signal sources (their default action is disabled first), so
// whichever thread the kernel picks, the server shuts down in order instead of dying.
let (stopSignals, stopContinuation) = AsyncStream<Int32>.makeStream()
let signalSources = [SIGINT, SIGTERM].map { number in
    signal(number, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
    source.setEventHandler { stopContinuation.yield(number) }
    source.resume()
    return source
}

let configuration: ServerConfiguration
nonisolated(unsafe) var serverChannel: Channel?
nonisolated(unsafe) var metricsEndpoint: MetricsEndpoint?
nonisolated(unsafe) var reloadSignal: DispatchSourceSignal?
nonisolated(unsafe) var runningServices: Services?
let connections = ConnectionRegistry()
do {
    configuration = try ServerConfiguration(
        arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    print(error)
    exit(2)
}

// Both backends before the first Logger or metric is made: those keep the backend they were made with.
bootstrapLogging(level: configuration.logLevel)
let logger = Logger(label: "wattline.server")
let metricsRegistry = configuration.metricsPort == 0 ? nil : bootstrapMetrics()

do {
    let probe = RpcV1.CallHeader.with { $0.method = HealthV1.HealthService.Check.path }
    guard try RpcV1.CallHeader(serializedBytes: probe.serializedBytes()) == probe else {
        logger.critical("the generated contracts do not round-trip; the build is broken")
        exit(1)
    }

    let environmentKey = ProcessInfo.processInfo.environment["WATTLINE_MASTER_KEY"]
    var appURL = configuration.databaseURL
    var adminURL = configuration.adminDatabaseURL
    var keyFile = configuration.masterKeyFile
    var imsURL = configuration.imsDatabaseURL
    let keysDirectory = FileManager.default.currentDirectoryPath + "/" + configuration.stateDirectory + "/keys"
    let tokenKeyFile = configuration.tokenKeyFile ?? (configuration.dev ? keysDirectory + "/token-signing.key" : nil)
    if configuration.dev, let tokenKeyFile { _ = try MasterKeyFile.createIfMissing(path: tokenKeyFile) }
    let receiptKeyFile = configuration.receiptKeyFile ?? (configuration.dev ? keysDirectory + "/receipt-signing.key" : nil)
    if configuration.dev, let receiptKeyFile { _ = try MasterKeyFile.createIfMissing(path: receiptKeyFile) }
    let ticketKeyFile = configuration.sessionTicketKeyFile ?? (configuration.dev ? keysDirectory + "/tls-session-ticket.key" : nil)
    if configuration.dev, let ticketKeyFile { _ = try MasterKeyFile.createIfMissing(path: ticketKeyFile) }
    if configuration.dev, configuration.databaseURL != nil {
        logger.notice("development mode with WATTLINE_DATABASE_URL set: no embedded database is started")
        keyFile = keyFile ?? FileManager.default.currentDirectoryPath + "/" + configuration.stateDirectory + "/keys/master.key"
        if environmentKey == nil, let keyFile { _ = try MasterKeyFile.createIfMissing(path: keyFile) }
    } else if configuration.dev {
        let root = FileManager.default.currentDirectoryPath
        let dev = DevDatabase(projectRoot: root)
        logger.notice("development mode: embedded PostgreSQL", metadata: ["directory": "\(dev.cluster.directory)"])
        try dev.cluster.start()
        appURL = appURL ?? dev.appConninfo
        adminURL = adminURL ?? dev.adminConninfo
        imsURL = imsURL ?? dev.imsConninfo
        try dev.createDatabase()
        keyFile = keyFile ?? root + "/" + configuration.stateDirectory + "/keys/master.key"
        if environmentKey == nil, let keyFile {
            _ = try MasterKeyFile.createIfMissing(path: keyFile)
        }
    }
    if configuration.migrate, let adminURL {
        let applied = try Migrator.migrate(conninfo: adminURL)
        logger.info(applied.isEmpty ? "schema up to date" : "applied migrations: \(applied.joined(separator: ", "))")
    } else {
        logger.info("migrations skipped (no admin database URL, or WATTLINE_MIGRATE=false)")
    }
    let environment = ProcessInfo.processInfo.environment
    guard keyFile != nil || environmentKey != nil else {
        throw ConfigurationError("set WATTLINE_MASTER_KEY_FILE or WATTLINE_MASTER_KEY: customer data is encrypted at rest")
    }
    let master = try MasterKey.load(path: keyFile ?? "", environment: environment)

    let tlsDirectory = FileManager.default.currentDirectoryPath + "/" + configuration.stateDirectory + "/tls"
    guard let certificate = configuration.tlsCertificate ?? (configuration.dev ? tlsDirectory + "/server.pem" : nil),
          let key = configuration.tlsKey ?? (configuration.dev ? tlsDirectory + "/server.key" : nil)
    else {
        throw ConfigurationError("set WATTLINE_TLS_CERT and WATTLINE_TLS_KEY: the server only speaks TLS")
    }
    guard let deviceCACertificate = configuration.deviceCACertificate ?? (configuration.dev ? tlsDirectory + "/ca.pem" : nil),
          let deviceCAKey = configuration.deviceCAKey ?? (configuration.dev ? tlsDirectory + "/ca.key" : nil)
    else {
        throw ConfigurationError("set WATTLINE_DEVICE_CA_CERT and WATTLINE_DEVICE_CA_KEY: loggers get certificates from it")
    }
    guard let imsURL, let tokenKeyFile else {
        throw ConfigurationError("set WATTLINE_IMS_DATABASE_URL and WATTLINE_TOKEN_KEY_FILE: every call is authenticated")
    }
    guard let receiptKeyFile else {
        throw ConfigurationError("set WATTLINE_RECEIPT_KEY_FILE: consent receipts are signed with it")
    }
    var settings = Services.Settings(
        appConninfo: appURL!, imsConninfo: imsURL, master: master,
        tokenKeys: try TokenKeyFiles.load(path: tokenKeyFile, now: UnixTime.now()),
        deviceCA: try DeviceCA(
            certificatePEM: String(contentsOfFile: deviceCACertificate, encoding: .utf8),
            privateKeyPEM: String(contentsOfFile: deviceCAKey, encoding: .utf8)),
        notifier: configuration.dev
            ? DevelopmentNotifier { logger.notice("\($0)", metadata: ["component": "notifier"]) }
            : NoDeliveryNotifier { logger.warning("\($0)", metadata: ["component": "notifier"]) })
    settings.receiptSigner = try Ed25519SigningKey(seed: MasterKeyFile.load(path: receiptKeyFile))
    settings.echo = configuration.echo ?? configuration.dev
    settings.compaction?.minimumAge = .seconds(configuration.compactionMinimumAge)
    settings.compaction?.busyShare = Double(configuration.compactionBusyPercent) / 100
    if !configuration.compaction { settings.compaction = nil }
    let services = try await Services.start(settings, logger: logger)
    runningServices = services
    logger.info("database ready (pool of \(services.store.pool.size) connections as an unprivileged role); master key \(master.id)")

    let revoked = services.revokedCertificates
    let tls = try TLSContextProvider(configuration: TLSConfiguration(
        certificateChainPath: certificate, privateKeyPath: key,
        trustedCAPath: configuration.tlsClientCA ?? deviceCACertificate,
        certificateRevoked: { revoked.contains($0) },
        sessionTicketKeys: try ticketKeyFile.map { try sessionTicketKeys(from: MasterKeyFile.load(path: $0)) }))
    if ticketKeyFile == nil { logger.notice("no session ticket key file: TLS sessions resume on this process only, until it restarts") }
    // SIGHUP re-reads the certificate and key: new connections get them, open ones keep theirs.
    signal(SIGHUP, SIG_IGN)
    reloadSignal = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
    reloadSignal?.setEventHandler {
        do {
            try tls.reload()
            logger.notice("TLS certificate and key reloaded", metadata: ["certificate": "\(certificate)"])
        } catch {
            logger.error("TLS reload failed; the previous certificate stays in use: \(error)")
        }
        do {
            let ring = try TokenKeyFiles.load(path: tokenKeyFile, now: UnixTime.now())
            if services.reloadTokenKeys(ring) {
                logger.warning("token signing key rotated to \(ring.current.keyID); restart to sign with it (verifying both meanwhile)")
            } else {
                logger.notice("token verification keys reloaded: \(ring.verificationKeys(now: UnixTime.now()).keys.sorted())")
            }
        } catch {
            logger.error("token key reload failed; the previous keys stay in use: \(error)")
        }
    }
    reloadSignal?.resume()

    let router = services.router
    let frozenRouter = router
    var wireOptions = ServerConnectionHandler.Options()
    wireOptions.settings = configuration.wireSettings
    wireOptions.metrics = WireMetrics.shared
    var refusedOptions = wireOptions
    refusedOptions.refusal = WireError(.connectionLimit, "the server holds its maximum of \(configuration.maxConnections) connections; retry later")
    let (acceptedOptions, refusedConnectionOptions, limit) = (wireOptions, refusedOptions, configuration.maxConnections)
    if let metricsRegistry {
        let endpoint = try await MetricsEndpoint.start(
            configuration: .init(host: configuration.metricsHost, port: configuration.metricsPort), registry: metricsRegistry)
        metricsEndpoint = endpoint
        logger.info("metrics at http://\(configuration.metricsHost):\(endpoint.localAddress?.port ?? configuration.metricsPort)/metrics")
    } else {
        logger.info("metrics off (--metrics-port 0)")
    }
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.backlog, value: 1_024)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            // Over the limit the connection still gets TLS, to be told why in a GOAWAY.
            let admitted = connections.add(channel, limit: limit)
            return channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls.current))
                try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(
                    router: frozenRouter, options: admitted ? acceptedOptions : refusedConnectionOptions))
            }
        }
        .bind(host: configuration.host, port: configuration.port).get()
    logger.info("serving \(frozenRouter.paths.count) methods on \(configuration.host):\(server.localAddress?.port ?? configuration.port) over TLS (ALPN wattline/1)")
    logger.info("\(ProtoRegistry.messages.count) message types, \(ProtoRegistry.methods.count) RPCs defined in the contracts")
    serverChannel = server
} catch {
    logger.critical("cannot start: \(error)")
    exit(1)
}

logger.info("waiting for SIGINT or SIGTERM")
func firstSignal(_ signals: AsyncStream<Int32>) async -> Int32 {
    for await number in signals { return number }
    return SIGTERM
}
let received = await firstSignal(stopSignals)
logger.notice("signal \(received), stopping: no new connections; draining \(connections.count) open ones (up to \(configuration.drainSeconds) s)")
try? await serverChannel?.close().get()
await connections.drain(timeout: .seconds(configuration.drainSeconds))
await metricsEndpoint?.stop()
runningServices?.shutdown()
logger.notice("stopped")
withExtendedLifetime(signalSources) {}
