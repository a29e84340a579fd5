import Foundation

/// `--name value` options after the command word; every one has a default or is required.
struct Options {
    let arguments: [String]

    func string(_ name: String) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    func required(_ name: String) throws -> String {
        guard let value = string(name) else { throw LoadError("\(name) is required\n\(usage)") }
        return value
    }

    /// A switch without a value.
    func flag(_ name: String) -> Bool { arguments.contains(name) }

    func int(_ name: String, _ fallback: Int) throws -> Int {
        guard let text = string(name) else { return fallback }
        guard let value = Int(text), value >= 0 else { throw LoadError("\(name) must be a whole number ≥ 0, got \(text)") }
        return value
    }

    var host: String { string("--host") ?? "127.0.0.1" }
    var port: Int { Int(string("--port") ?? "7443") ?? 7443 }
    var ca: String { string("--ca") ?? ".wattline/tls/ca.pem" }
}

struct LoadError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

let usage = """
    usage: wattline-load setup --email E --tenant T --site S [--loggers 10] [--meters 8] [--out .wattline/load/fleet.json]
               makes a fleet: loggers at site S with an API secret and meters × 7 channels each (the password of E,
               a technician or above in T, comes from WATTLINE_PASSWORD)
           wattline-load run [--fleet .wattline/load/fleet.json] [--loggers N] [--duration 60] [--batch-samples 56]
                             [--interval-ms 1000 | 0 = as fast as acknowledged] [--in-flight 8] [--server-pid PID]
                             [--acked-log FILE]   (writes "<logger> <sequence>" of every acknowledged batch)
                             [--replay FILE]      (sends the samples of gen_telemetry.py --format bin FILE, its
                                                   loggers mapped in order onto the fleet's, then stops)
                             [--rebase-to-now]    (shifts the replayed times so the file's last sample is now)
                             [--warmup S]         (also reports the ack latency of the acks after the first S seconds)
                             [--drop-at S]        (drops every connection at once after S seconds; the loggers
                                                   reconnect with TLS resumption; reports when all stream again)
               streams batches from every logger (or the first N) and reports ack latency (p50/p99/p999),
               samples/s acknowledged, rejections, reconnects, the CPU of server, PostgreSQL and this process
               and the server's peak RSS; the last line is a JSON summary
           wattline-load copy-baseline --conninfo URL [--fleet F] [--loggers N] [--batch-samples 1000] [--duration 20]
                             [--batches-per-commit 10] [--connections 2]
               writes the samples `run` would send with binary COPY into an indexed row-per-sample table (a scratch
               schema of URL's database, dropped afterwards), one commit per batches-per-commit rounds: the yardstick
           wattline-load query-bench --email E [--fleet F] [--rounds 200]
               query latencies through the SDK, one call at a time (password of E, a viewer or above, in
               WATTLINE_PASSWORD): a year of hourly aggregates of one channel (the fleet's first logger's channels in
               turn), latest values of the fleet's first 500 channels, a year of daily energy, one day raw; p50/p99
           common: [--host 127.0.0.1] [--port 7443] [--ca .wattline/tls/ca.pem]
    """
