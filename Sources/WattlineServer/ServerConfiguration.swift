#if canImport(Glibc)
import Glibc
#endif
import Logging
import WattlineWire

/// wattline-server's settings, from flags and `WATTLINE_*` environment variables (flags win).
struct ServerConfiguration {
    /// Development mode: the embedded PostgreSQL cluster and key file under `.wattline/`.
    var dev = false
    /// The server role's connection string (WATTLINE_DATABASE_URL); nil in development mode.
    var databaseURL: String?
    /// A role allowed to migrate (WATTLINE_ADMIN_DATABASE_URL); migrations are skipped without it.
    var adminDatabaseURL: String?
    /// Run migrations at start (WATTLINE_MIGRATE, default true).
    var migrate = true
    /// The master key-encryption key file (WATTLINE_MASTER_KEY_FILE; or WATTLINE_MASTER_KEY in hex).
    var masterKeyFile: String?
    /// Where development state lives.
    var stateDirectory = ".wattline"
    /// Where to listen (WATTLINE_HOST, WATTLINE_PORT).
    var host = "127.0.0.1"
    var port = 7443
    /// TLS certificate chain and key, PEM (WATTLINE_TLS_CERT, WATTLINE_TLS_KEY); dev: .wattline/tls.
    var tlsCertificate: String?
    var tlsKey: String?
    /// CA for client certificates (WATTLINE_TLS_CLIENT_CA); when set, loggers may present certificates.
    var tlsClientCA: String?
    /// Lowest level logged (WATTLINE_LOG_LEVEL): trace, debug, info, notice, warning, error, critical.
    var logLevel = Logger.Level.info
    /// The Prometheus scrape endpoint (WATTLINE_METRICS_HOST, WATTLINE_METRICS_PORT); port 0 turns metrics off.
    /// Loopback by default: the metrics show traffic by method, so exposing them is a deliberate choice.
    var metricsHost = "127.0.0.1"
    var metricsPort = 9464
    /// Connections held at once (WATTLINE_MAX_CONNECTIONS); more get GOAWAY CONNECTION_LIMIT.
    var maxConnections = 16_384
    /// Calls open at once on one connection (WATTLINE_MAX_STREAMS).
    var maxConcurrentStreams = 100
    /// Ping a connection silent this long (WATTLINE_KEEPALIVE_MS; 0 = never, else ≥ 5,000).
    var keepaliveMs = 60_000
    /// Close a connection without calls after this long (WATTLINE_IDLE_TIMEOUT_MS; 0 = never, else ≥ 1,000).
    var idleTimeoutMs = 300_000
    /// How long in-flight calls may run after SIGTERM (WATTLINE_DRAIN_SECONDS).
    var drainSeconds = 10
    /// Host the transport's diagnostic echo service (WATTLINE_ECHO; on by default in development).
    var echo: Bool?
    /// The identity service's database role (WATTLINE_IMS_DATABASE_URL; the dev cluster's in --dev).
    var imsDatabaseURL: String?
    /// The Ed25519 seed that signs access tokens (WATTLINE_TOKEN_KEY_FILE; dev: .wattline/keys).
    /// Every node of a deployment uses the same file, so any node verifies any token.
    var tokenKeyFile: String?
    /// The Ed25519 seed that signs consent receipts (WATTLINE_RECEIPT_KEY_FILE; dev:
    /// .wattline/keys). Every node uses the same file; its public key is published at start.
    var receiptKeyFile: String?
    /// The device CA that issues logger certificates, PEM (WATTLINE_DEVICE_CA_CERT,
    /// WATTLINE_DEVICE_CA_KEY; dev: the development CA in .wattline/tls). Client certificates are
    /// verified against it unless --tls-client-ca names another CA.
    var deviceCACertificate: String?
    var deviceCAKey: String?
    /// The secret the TLS session ticket keys derive from (WATTLINE_SESSION_TICKET_KEY_FILE; dev:
    /// .wattline/keys). Every node of a deployment uses the same file, so a logger's ticket resumes
    /// on any node and after a restart; without one, tickets die with the process.
    var sessionTicketKeyFile: String?
    /// Run the background compactor here (WATTLINE_COMPACTION; default on). A deployment may
    /// keep it on a few nodes only; any number of nodes may run it (one per tenant at a time).
    var compaction = true
    /// How old a stored batch must be before the compactor takes it (WATTLINE_COMPACTION_MIN_AGE_S;
    /// default 30). Older means more samples per pass; the crash test uses 1 to compact under load.
    var compactionMinimumAge = 30
    /// The share of wall time the compactor may work, in percent (WATTLINE_COMPACTION_BUSY_PERCENT;
    /// default 25, so ingest keeps the CPU after a burst; 100 for a dedicated compacting node).
    var compactionBusyPercent = 25

    static let usage = """
        usage: wattline-server [--dev] [--database-url URL] [--admin-database-url URL]
                               [--master-key-file PATH] [--no-migrate] [--host H] [--port P]
                               [--tls-cert PEM] [--tls-key PEM] [--tls-client-ca PEM]
                               [--log-level LEVEL] [--metrics-host H] [--metrics-port P]
                               [--max-connections N] [--max-streams N] [--keepalive-ms MS]
                               [--idle-timeout-ms MS] [--drain-seconds S] [--echo | --no-echo]
                               [--ims-database-url URL] [--token-key-file PATH]
                               [--device-ca-cert PEM] [--device-ca-key PEM] [--session-ticket-key-file PATH]
                               [--receipt-key-file PATH]
                               [--no-compaction] [--compaction-min-age-s S] [--compaction-busy-percent P]
        environment: WATTLINE_DATABASE_URL, WATTLINE_ADMIN_DATABASE_URL, WATTLINE_MASTER_KEY_FILE,
                     WATTLINE_MASTER_KEY (hex), WATTLINE_MIGRATE=false, WATTLINE_HOST, WATTLINE_PORT,
                     WATTLINE_TLS_CERT, WATTLINE_TLS_KEY, WATTLINE_TLS_CLIENT_CA,
                     WATTLINE_LOG_LEVEL, WATTLINE_METRICS_HOST, WATTLINE_METRICS_PORT,
                     WATTLINE_MAX_CONNECTIONS (16384), WATTLINE_MAX_STREAMS (100),
                     WATTLINE_KEEPALIVE_MS (60000), WATTLINE_IDLE_TIMEOUT_MS (300000),
                     WATTLINE_DRAIN_SECONDS (10), WATTLINE_ECHO (true in --dev),
                     WATTLINE_IMS_DATABASE_URL, WATTLINE_TOKEN_KEY_FILE, WATTLINE_SESSION_TICKET_KEY_FILE,
                     WATTLINE_COMPACTION (true), WATTLINE_COMPACTION_MIN_AGE_S (30),
                     WATTLINE_COMPACTION_BUSY_PERCENT (25)
        logging:     logfmt lines on stderr; LEVEL is trace, debug, info (default), notice, warning,
                     error or critical
        metrics:     Prometheus text format at http://H:P/metrics, default 127.0.0.1:9464;
                     --metrics-port 0 turns metrics off
        """

    init(arguments: [String], environment: [String: String]) throws {
        databaseURL = environment["WATTLINE_DATABASE_URL"]
        adminDatabaseURL = environment["WATTLINE_ADMIN_DATABASE_URL"]
        masterKeyFile = environment["WATTLINE_MASTER_KEY_FILE"]
        host = environment["WATTLINE_HOST"] ?? host
        port = environment["WATTLINE_PORT"].flatMap(Int.init) ?? port
        tlsCertificate = environment["WATTLINE_TLS_CERT"]
        tlsKey = environment["WATTLINE_TLS_KEY"]
        tlsClientCA = environment["WATTLINE_TLS_CLIENT_CA"]
        if let value = environment["WATTLINE_MIGRATE"] { migrate = !["0", "false", "no"].contains(value.lowercased()) }
        if let value = environment["WATTLINE_LOG_LEVEL"] { logLevel = try Self.level(value, from: "WATTLINE_LOG_LEVEL") }
        metricsHost = environment["WATTLINE_METRICS_HOST"] ?? metricsHost
        if let value = environment["WATTLINE_METRICS_PORT"] { metricsPort = try Self.port(value, from: "WATTLINE_METRICS_PORT") }
        if let value = environment["WATTLINE_MAX_CONNECTIONS"] { maxConnections = try Self.number(value, 1...1_000_000, from: "WATTLINE_MAX_CONNECTIONS") }
        if let value = environment["WATTLINE_MAX_STREAMS"] { maxConcurrentStreams = try Self.number(value, 1...100_000, from: "WATTLINE_MAX_STREAMS") }
        if let value = environment["WATTLINE_KEEPALIVE_MS"] { keepaliveMs = try Self.timer(value, minimum: 5_000, from: "WATTLINE_KEEPALIVE_MS") }
        if let value = environment["WATTLINE_IDLE_TIMEOUT_MS"] { idleTimeoutMs = try Self.timer(value, minimum: 1_000, from: "WATTLINE_IDLE_TIMEOUT_MS") }
        if let value = environment["WATTLINE_DRAIN_SECONDS"] { drainSeconds = try Self.number(value, 0...3_600, from: "WATTLINE_DRAIN_SECONDS") }
        if let value = environment["WATTLINE_COMPACTION"] { compaction = !["0", "false", "no"].contains(value.lowercased()) }
        if let value = environment["WATTLINE_COMPACTION_MIN_AGE_S"] {
            compactionMinimumAge = try Self.number(value, 0...86_400, from: "WATTLINE_COMPACTION_MIN_AGE_S")
        }
        if let value = environment["WATTLINE_COMPACTION_BUSY_PERCENT"] {
            compactionBusyPercent = try Self.number(value, 1...100, from: "WATTLINE_COMPACTION_BUSY_PERCENT")
        }
        if let value = environment["WATTLINE_ECHO"] { echo = !["0", "false", "no"].contains(value.lowercased()) }
        imsDatabaseURL = environment["WATTLINE_IMS_DATABASE_URL"]
        tokenKeyFile = environment["WATTLINE_TOKEN_KEY_FILE"]
        receiptKeyFile = environment["WATTLINE_RECEIPT_KEY_FILE"]
        deviceCACertificate = environment["WATTLINE_DEVICE_CA_CERT"]
        deviceCAKey = environment["WATTLINE_DEVICE_CA_KEY"]
        sessionTicketKeyFile = environment["WATTLINE_SESSION_TICKET_KEY_FILE"]
        var remaining = arguments[...]
        func value(for flag: String) throws -> String {
            guard let value = remaining.popFirst() else { throw ConfigurationError("\(flag) needs a value") }
            return value
        }
        while let argument = remaining.popFirst() {
            switch argument {
            case "--dev": dev = true
            case "--database-url": databaseURL = try value(for: argument)
            case "--admin-database-url": adminDatabaseURL = try value(for: argument)
            case "--master-key-file": masterKeyFile = try value(for: argument)
            case "--no-migrate": migrate = false
            case "--host": host = try value(for: argument)
            case "--port":
                guard let number = Int(try value(for: argument)), (0...65_535).contains(number) else {
                    throw ConfigurationError("--port needs a port number")
                }
                port = number
            case "--tls-cert": tlsCertificate = try value(for: argument)
            case "--tls-key": tlsKey = try value(for: argument)
            case "--tls-client-ca": tlsClientCA = try value(for: argument)
            case "--log-level": logLevel = try Self.level(try value(for: argument), from: argument)
            case "--metrics-host": metricsHost = try value(for: argument)
            case "--metrics-port": metricsPort = try Self.port(try value(for: argument), from: argument)
            case "--max-connections": maxConnections = try Self.number(try value(for: argument), 1...1_000_000, from: argument)
            case "--max-streams": maxConcurrentStreams = try Self.number(try value(for: argument), 1...100_000, from: argument)
            case "--keepalive-ms": keepaliveMs = try Self.timer(try value(for: argument), minimum: 5_000, from: argument)
            case "--idle-timeout-ms": idleTimeoutMs = try Self.timer(try value(for: argument), minimum: 1_000, from: argument)
            case "--drain-seconds": drainSeconds = try Self.number(try value(for: argument), 0...3_600, from: argument)
            case "--echo": echo = true
            case "--ims-database-url": imsDatabaseURL = try value(for: argument)
            case "--token-key-file": tokenKeyFile = try value(for: argument)
            case "--receipt-key-file": receiptKeyFile = try value(for: argument)
            case "--device-ca-cert": deviceCACertificate = try value(for: argument)
            case "--device-ca-key": deviceCAKey = try value(for: argument)
            case "--session-ticket-key-file": sessionTicketKeyFile = try value(for: argument)
            case "--no-echo": echo = false
            case "--no-compaction": compaction = false
            case "--compaction-min-age-s": compactionMinimumAge = try Self.number(try value(for: argument), 0...86_400, from: argument)
            case "--compaction-busy-percent": compactionBusyPercent = try Self.number(try value(for: argument), 1...100, from: argument)
            case "--help", "-h": throw ConfigurationError(Self.usage)
            default: throw ConfigurationError("unknown argument \(argument)\n\(Self.usage)")
            }
        }
        if !dev, databaseURL == nil {
            throw ConfigurationError("set WATTLINE_DATABASE_URL (or --database-url), or run with --dev for the embedded database")
        }
    }

    private static func level(_ text: String, from source: String) throws -> Logger.Level {
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ConfigurationError("\(source) must be one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return level
    }

    private static func number(_ text: String, _ range: ClosedRange<Int>, from source: String) throws -> Int {
        guard let number = Int(text), range.contains(number) else {
            throw ConfigurationError("\(source) must be a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// A protocol timer in milliseconds: 0 (off) or at least `minimum` (docs/protocol.md §1).
    private static func timer(_ text: String, minimum: Int, from source: String) throws -> Int {
        guard let number = Int(text), number == 0 || (minimum...Int(Int32.max)).contains(number) else {
            throw ConfigurationError("\(source) must be 0 (off) or at least \(minimum) ms")
        }
        return number
    }

    /// The protocol settings announced to every client.
    var wireSettings: WireSettings {
        var settings = WireSettings.defaults
        settings.maxConcurrentStreams = maxConcurrentStreams
        settings.keepaliveIntervalMs = keepaliveMs
        settings.idleTimeoutMs = idleTimeoutMs
        return settings
    }

    private static func port(_ text: String, from source: String) throws -> Int {
        guard let number = Int(text), (0...65_535).contains(number) else {
            throw ConfigurationError("\(source) needs a port number (0 to turn it off)")
        }
        return number
    }
}

struct ConfigurationError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
