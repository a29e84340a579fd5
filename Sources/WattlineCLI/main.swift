// wattline: the administrator's and developer's command line.
//
//   wattline proto types                         every message type of the contracts
//   wattline proto decode TYPE < FILE            decodes one message from standard input
//   wattline dev-db start|stop|status|url        the embedded development cluster (.wattline/pg)
//   wattline migrate [--database-url URL]        applies migrations (default: the dev cluster)
//   wattline keys rotate-master --from FILE --to FILE [--database-url URL]
//                                                re-wraps every data key under a new master key
//   wattline keys stage-token-key | rotate-token-key [--file F]
//                                                the access-token signing key ring (docs/identity.md)
//   wattline health [--host H] [--port P] [--ca PEM] [--service NAME]
//                                                calls HealthService.Check over TLS
//   wattline ims create-operator --email E       the first platform operator (password: WATTLINE_PASSWORD or stdin)
//   wattline login --email E [--host H] [--port P] [--ca PEM]
//                                                signs in through the SDK; later commands use the session
//   wattline whoami | logout                     the signed-in person and roles; ends the session
//   wattline tenant create --name N [--country CC]                    (platform operator)
//   wattline invite --tenant T --email E --role owner|admin|technician|viewer
//   wattline register --token INVITATION --name NAME                 (password: WATTLINE_PASSWORD or stdin)
//   wattline site create --tenant T --name N --address "L1;L2" --country CC --time-zone Z [--responsible ID|me]
//   wattline logger register --tenant T --site S --serial SN --model M
//   wattline logger provision --tenant T --logger L [--out DIR] [--secret]
//   wattline logger check --tenant T --logger L --cert PEM --key KEY    calls as the logger (mutual TLS)
//   wattline logger revoke --tenant T --credential C
//   wattline telemetry raw|energy --tenant T --channel C [--from T0] [--to T1] [--days N]
//   wattline telemetry latest --tenant T --channels C1,C2,...     reads back through the SDK
//   wattline consent publish --version V --locale L --title T --text-file F --scopes a,b --url URL [--policy P] [--resign]
//   wattline consent sign --tenant T --site S --policy-version V --scopes a,b [--out receipt.json]
//   wattline consent keys > keys.json            the published receipt keys
//   wattline consent verify receipt.json --keys keys.json      offline, no server
//   wattline audit verify [--tenant T | --platform] [--anchor SEQ:HASH] [--database-url URL]
//                                                checks the audit chains in the database itself
import Foundation
import WattlineCrypto
import WattlineAudit
import WattlineProtos
import WattlineClient
import WattlineStore
import WattlineTLS

func usage() -> Never {
    print("""
        usage: wattline proto types
               wattline proto decode <wattline.area.v1.Message> < message.bin
               wattline dev-db start|stop|status|url
               wattline migrate [--database-url URL]
               wattline keys rotate-master --from OLD_KEY_FILE --to NEW_KEY_FILE [--database-url URL]
               wattline keys stage-token-key | rotate-token-key [--file .wattline/keys/token-signing.key]
               wattline health [--host 127.0.0.1] [--port 7443] [--ca .wattline/tls/ca.pem] [--service NAME]
               wattline ims create-operator --email E [--display-name NAME]
               wattline login --email E [--host 127.0.0.1] [--port 7443] [--ca .wattline/tls/ca.pem]
               wattline whoami | logout
               wattline tenant create --name NAME [--country CC]
               wattline invite --tenant T --email E --role owner|admin|technician|viewer
               wattline register --token INVITATION_TOKEN --name DISPLAY_NAME
               wattline site create --tenant T --name NAME --address "LINE 1;LINE 2" --country CH
                                    --time-zone Europe/Zurich [--responsible IDENTITY|me]
               wattline logger register --tenant T --site S --serial SERIAL --model MODEL
               wattline logger provision --tenant T --logger L [--out .wattline/loggers] [--secret]
               wattline logger check --tenant T --logger L --cert LOGGER_PEM --key LOGGER_KEY
               wattline logger revoke --tenant T --credential C
               wattline telemetry raw --tenant T --channel C [--from MS|ISO] [--to MS|ISO] [--days 1]
               wattline telemetry energy --tenant T --channel C [--from MS|ISO] [--to MS|ISO] [--days 7]
                                    (consumption per local day of the site)
               wattline telemetry latest --tenant T --channels C1,C2,...
               wattline consent publish --version 1.0 --locale en --title TITLE --text-file POLICY.md
                                    --scopes cloud_storage,export_third_party,analytics,bulk_download --url https://…
                                    [--policy POLICY_ID] [--resign]     (platform operator)
               wattline consent sign --tenant T --site S --policy-version V --scopes cloud_storage,bulk_download [--out receipt.json]
               wattline consent keys                (the published receipt keys as JSON)
               wattline consent verify RECEIPT.json --keys KEYS.json   (offline; exit status 1 when invalid)
               wattline audit verify [--tenant T | --platform] [--anchor SEQUENCE:HEX_HASH] [--database-url URL]
                                    (every chain by default; exit status 1 when one is broken)
        Commands after login use its session (WATTLINE_CLI_SESSION or .wattline/cli/session) and take
        --host/--port/--ca too.
        Passwords come from WATTLINE_PASSWORD or the first line of standard input.
        Without --database-url, commands use the embedded development cluster under ./.wattline
        (WATTLINE_ADMIN_DATABASE_URL overrides it).
        """)
    exit(2)
}

/// `--name value` options after the command words.
func option(_ name: String, in arguments: [String]) -> String? {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
    return arguments[index + 1]
}

let arguments = Array(CommandLine.arguments.dropFirst())
let dev = DevDatabase(projectRoot: FileManager.default.currentDirectoryPath)

/// The administrative connection: the flag, the environment, or the dev cluster (started if needed).
func adminConninfo() throws -> String {
    if let url = option("--database-url", in: arguments) ?? ProcessInfo.processInfo.environment["WATTLINE_ADMIN_DATABASE_URL"] {
        return url
    }
    try dev.cluster.start()
    try dev.createDatabase()
    return dev.adminConninfo
}

/// A TLS client for --host/--port, trusting --ca (the development CA by default).
func connect() throws -> WattlineClient {
    try WattlineClient(
        host: option("--host", in: arguments) ?? "127.0.0.1", port: Int(option("--port", in: arguments) ?? "7443") ?? 7443,
        caPath: option("--ca", in: arguments) ?? ".wattline/tls/ca.pem")
}

do {
    switch (arguments.first, arguments.dropFirst().first) {
    case ("proto", "types"):
        for name in ProtoRegistry.messages.keys.sorted() { print(name) }
    case ("proto", "decode"):
        guard arguments.count == 3, let type = ProtoRegistry.messages[arguments[2]] else { usage() }
        let input = [UInt8](FileHandle.standardInput.readDataToEndOfFile())
        print(try type.init(serializedBytes: input, limits: .default))
    case ("dev-db", "start"):
        try dev.cluster.start()
        try dev.createDatabase()
        print("embedded PostgreSQL running: \(dev.adminConninfo)")
    case ("dev-db", "stop"):
        try dev.cluster.stop()
    case ("dev-db", "status"):
        print(try dev.cluster.isRunning() ? "running: \(dev.cluster.directory)" : "not running")
    case ("dev-db", "url"):
        print("admin:  \(dev.adminConninfo)\napp:    \(dev.appConninfo)\nims:    \(dev.imsConninfo)")
    case ("migrate", _):
        let applied = try Migrator.migrate(conninfo: try adminConninfo())
        print(applied.isEmpty ? "schema up to date" : "applied: \(applied.joined(separator: ", "))")
    case ("keys", "rotate-master"):
        guard let from = option("--from", in: arguments), let to = option("--to", in: arguments) else { usage() }
        let old = try MasterKey(MasterKeyFile.load(path: from))
        let new = try MasterKey(MasterKeyFile.load(path: to))
        let conninfo = try adminConninfo()
        let count = try TenantKeyring.rotateMaster(adminConninfo: conninfo, from: old, to: new)
        try await AuditCommands.record(conninfo: conninfo, action: "system.master_key_rotated", details: [
            ("from_master_key", old.id), ("to_master_key", new.id), ("data_keys_rewrapped", String(count)),
        ])
        print("re-wrapped \(count) data keys from master key \(old.id) to \(new.id); point the servers at the new key file")
    case ("keys", "stage-token-key"):
        let file = option("--file", in: arguments) ?? ProcessInfo.processInfo.environment["WATTLINE_TOKEN_KEY_FILE"] ?? ".wattline/keys/token-signing.key"
        let keyID = try TokenKeyFiles.stage(path: file)
        print("staged token signing key \(keyID); reload every server (SIGHUP) so they verify it, then rotate-token-key")
    case ("keys", "rotate-token-key"):
        let file = option("--file", in: arguments) ?? ProcessInfo.processInfo.environment["WATTLINE_TOKEN_KEY_FILE"] ?? ".wattline/keys/token-signing.key"
        let (retired, current) = try TokenKeyFiles.rotate(path: file, now: UnixTime.now())
        print("token signing key \(current) is current; \(retired) verifies until its tokens expire. Restart the servers one by one.")
    case ("health", _):
        let client = try connect()
        let response = try await client.unary(
            HealthV1.HealthService.Check.self, .with { $0.service = option("--service", in: arguments) ?? "" },
            timeout: .seconds(5))
        print("\(client.host):\(client.port): \(response.status)")
        await client.close()
    case ("ims", "create-operator"):
        guard let email = option("--email", in: arguments) else { usage() }
        try await IdentityCommands.createOperator(email: email, displayName: option("--display-name", in: arguments), dev: dev)
    case ("login", _):
        guard let email = option("--email", in: arguments) else { usage() }
        let client = try connect()
        try await IdentityCommands.login(email: email, client: client)
        await client.close()
    case ("whoami", _):
        let client = try connect()
        try await TenancyCommands.whoAmI(client: client)
        await client.close()
    case ("logout", _):
        let client = try connect()
        let options = try await CLISession.authorized(client)
        _ = try await ImsV1.ImsService.Client(client).logout(.init(), options: options)
        CLISession.forget()
        print("signed out")
        await client.close()
    case ("tenant", "create"):
        guard let name = option("--name", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.createTenant(name: name, country: option("--country", in: arguments), client: client)
        await client.close()
    case ("invite", _):
        guard let tenant = option("--tenant", in: arguments), let email = option("--email", in: arguments),
              let role = option("--role", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.invite(tenant: tenant, email: email, role: role, client: client)
        await client.close()
    case ("register", _):
        guard let token = option("--token", in: arguments), let name = option("--name", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.register(token: token, displayName: name, password: try IdentityCommands.password(), client: client)
        await client.close()
    case ("site", "create"):
        guard let tenant = option("--tenant", in: arguments), let name = option("--name", in: arguments),
              let address = option("--address", in: arguments), let country = option("--country", in: arguments),
              let zone = option("--time-zone", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.createSite(
            tenant: tenant, name: name, address: address, country: country, timeZone: zone,
            responsible: option("--responsible", in: arguments), client: client)
        await client.close()
    case ("logger", "register"):
        guard let tenant = option("--tenant", in: arguments), let site = option("--site", in: arguments),
              let serial = option("--serial", in: arguments), let model = option("--model", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.registerLogger(tenant: tenant, site: site, serial: serial, model: model, client: client)
        await client.close()
    case ("logger", "provision"):
        guard let tenant = option("--tenant", in: arguments), let logger = option("--logger", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.provisionLogger(
            tenant: tenant, logger: logger, outDirectory: option("--out", in: arguments) ?? ".wattline/loggers",
            secret: arguments.contains("--secret"), client: client)
        await client.close()
    case ("logger", "check"):
        guard let tenant = option("--tenant", in: arguments), let logger = option("--logger", in: arguments),
              let certificate = option("--cert", in: arguments), let key = option("--key", in: arguments) else { usage() }
        let client = try WattlineClient(
            host: option("--host", in: arguments) ?? "127.0.0.1", port: Int(option("--port", in: arguments) ?? "7443") ?? 7443,
            caPath: option("--ca", in: arguments) ?? ".wattline/tls/ca.pem",
            clientCertificatePath: certificate, clientKeyPath: key)
        try await TenancyCommands.checkLogger(tenant: tenant, logger: logger, client: client)
        await client.close()
    case ("logger", "revoke"):
        guard let tenant = option("--tenant", in: arguments), let credential = option("--credential", in: arguments) else { usage() }
        let client = try connect()
        try await TenancyCommands.revokeCredential(tenant: tenant, credential: credential, client: client)
        await client.close()
    case ("telemetry", let what?) where what == "raw" || what == "energy":
        guard let tenant = option("--tenant", in: arguments), let channel = option("--channel", in: arguments).flatMap(UInt64.init) else { usage() }
        let days = Int(option("--days", in: arguments) ?? (what == "raw" ? "1" : "7")) ?? 1
        let (from, to) = try TelemetryCommands.range(from: option("--from", in: arguments), to: option("--to", in: arguments), days: days)
        let client = try connect()
        if what == "raw" {
            try await TelemetryCommands.raw(tenant: tenant, channel: channel, fromMs: from, toMs: to, client: client)
        } else {
            try await TelemetryCommands.energy(tenant: tenant, channel: channel, fromMs: from, toMs: to, client: client)
        }
        await client.close()
    case ("consent", "publish"):
        guard let version = option("--version", in: arguments), let locale = option("--locale", in: arguments),
              let title = option("--title", in: arguments), let file = option("--text-file", in: arguments),
              let scopes = option("--scopes", in: arguments), let url = option("--url", in: arguments) else { usage() }
        let client = try connect()
        try await ConsentCommands.publish(
            policy: option("--policy", in: arguments), version: version, locale: locale, title: title, textFile: file, scopes: scopes,
            url: url, resign: arguments.contains("--resign"), client: client)
        await client.close()
    case ("consent", "sign"):
        guard let tenant = option("--tenant", in: arguments), let site = option("--site", in: arguments),
              let version = option("--policy-version", in: arguments), let scopes = option("--scopes", in: arguments) else { usage() }
        let client = try connect()
        try await ConsentCommands.sign(tenant: tenant, site: site, version: version, scopes: scopes,
                                       out: option("--out", in: arguments) ?? "receipt.json", client: client)
        await client.close()
    case ("consent", "keys"):
        let client = try connect()
        try await ConsentCommands.keys(client: client)
        await client.close()
    case ("consent", "verify"):
        guard arguments.count >= 3, let keys = option("--keys", in: arguments) else { usage() }
        try ConsentCommands.verify(file: arguments[2], keys: keys)
    case ("audit", "verify"):
        let connection = try PGConnection(conninfo: try adminConninfo())
        let chains: [UUID]
        if let tenant = option("--tenant", in: arguments) {
            guard let id = UUID(uuidString: tenant) else { usage() }
            chains = [id]
        } else if arguments.contains("--platform") {
            chains = [AuditLog.platform.uuid]
        } else {
            chains = try ChainAudit.chains(connection)
        }
        let anchor = try option("--anchor", in: arguments).map(AuditCommands.anchor)
        var intact = true
        for chain in chains {
            let result = try ChainAudit.verify(connection, chain: chain, anchor: anchor)
            print(AuditCommands.describe(result))
            intact = intact && result.report.firstBroken == nil
        }
        if !intact { exit(1) }
    case ("telemetry", "latest"):
        guard let tenant = option("--tenant", in: arguments),
              let channels = option("--channels", in: arguments)?.split(separator: ",").compactMap({ UInt64($0) }), !channels.isEmpty
        else { usage() }
        let client = try connect()
        try await TelemetryCommands.latest(tenant: tenant, channels: channels, client: client)
        await client.close()
    default:
        usage()
    }
} catch {
    print("wattline: \(error)")
    exit(1)
}
