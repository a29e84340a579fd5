#if canImport(Glibc)
import Glibc
#endif
import Logging

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

    static let usage = """
        usage: wattline-server [--dev] [--database-url URL] [--admin-database-url URL]
                               [--master-key-file PATH] [--no-migrate] [--host H] [--port P]
                               [--tls-cert PEM] [--tls-key PEM] [--tls-client-ca PEM]
                               [--log-level LEVEL] [--metrics-host H] [--metrics-port P]
        environment: WATTLINE_DATABASE_URL, WATTLINE_ADMIN_DATABASE_URL, WATTLINE_MASTER_KEY_FILE,
                     WATTLINE_MASTER_KEY (hex), WATTLINE_MIGRATE=false, WATTLINE_HOST, WATTLINE_PORT,
                     WATTLINE_TLS_CERT, WATTLINE_TLS_KEY, WATTLINE_TLS_CLIENT_CA,
                     WATTLINE_LOG_LEVEL, WATTLINE_METRICS_HOST, WATTLINE_METRICS_PORT
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
