// wattline-server: the Wattline back-end process.
//
// This stage has the contracts, the store (PostgreSQL with tenant isolation and encryption at
// rest) and no network transport yet: the server prepares its database and keys, reports what
// it would serve, and waits for SIGINT or SIGTERM. The wire-protocol issue adds TLS and services.
import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore

func log(_ message: String) {
    print("wattline-server: \(message)")
    fflush(nil)
}

let configuration: ServerConfiguration
do {
    configuration = try ServerConfiguration(
        arguments: Array(CommandLine.arguments.dropFirst()), environment: ProcessInfo.processInfo.environment)
} catch {
    print(error)
    exit(2)
}

do {
    let probe = RpcV1.CallHeader.with { $0.method = HealthV1.HealthService.Check.path }
    guard try RpcV1.CallHeader(serializedBytes: probe.serializedBytes()) == probe else {
        log("the generated contracts do not round-trip; the build is broken")
        exit(1)
    }

    let environmentKey = ProcessInfo.processInfo.environment["WATTLINE_MASTER_KEY"]
    var appURL = configuration.databaseURL
    var adminURL = configuration.adminDatabaseURL
    var keyFile = configuration.masterKeyFile
    if configuration.dev, configuration.databaseURL != nil {
        log("development mode with WATTLINE_DATABASE_URL set: no embedded database is started")
        keyFile = keyFile ?? FileManager.default.currentDirectoryPath + "/" + configuration.stateDirectory + "/keys/master.key"
        if environmentKey == nil, let keyFile { _ = try MasterKeyFile.createIfMissing(path: keyFile) }
    } else if configuration.dev {
        let root = FileManager.default.currentDirectoryPath
        let dev = DevDatabase(projectRoot: root)
        log("development mode: embedded PostgreSQL in \(dev.cluster.directory)")
        try dev.cluster.start()
        appURL = appURL ?? dev.appConninfo
        adminURL = adminURL ?? dev.adminConninfo
        try dev.createDatabase()
        keyFile = keyFile ?? root + "/" + configuration.stateDirectory + "/keys/master.key"
        if environmentKey == nil, let keyFile {
            _ = try MasterKeyFile.createIfMissing(path: keyFile)
        }
    }
    if configuration.migrate, let adminURL {
        let applied = try Migrator.migrate(conninfo: adminURL)
        log(applied.isEmpty ? "schema up to date" : "applied migrations: \(applied.joined(separator: ", "))")
    } else {
        log("migrations skipped (no admin database URL, or WATTLINE_MIGRATE=false)")
    }
    let environment = ProcessInfo.processInfo.environment
    guard keyFile != nil || environmentKey != nil else {
        throw ConfigurationError("set WATTLINE_MASTER_KEY_FILE or WATTLINE_MASTER_KEY: customer data is encrypted at rest")
    }
    let master = try MasterKey.load(path: keyFile ?? "", environment: environment)
    let store = try await Store.open(.init(conninfo: appURL!)) { log($0) }
    _ = TenantKeyring(master: master)
    log("database ready (pool of \(store.pool.size) connections as an unprivileged role); master key \(master.id)")
    log("\(ProtoRegistry.messages.count) message types, \(ProtoRegistry.methods.count) RPCs defined; no transport yet")
} catch {
    log("cannot start: \(error)")
    exit(1)
}

log("waiting for SIGINT or SIGTERM")
signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGINT)
sigaddset(&signals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &signals, nil)
var received: Int32 = 0
sigwait(&signals, &received)
log("signal \(received), stopping")
