// wattline-load: simulated loggers streaming telemetry to a Wattline server (issue "Telemetry
// ingest"). `setup` makes a fleet of loggers through the tenancy RPCs; `run` streams from them
// (synthetic readings, or a gen_telemetry.py recording) and reports what was acknowledged, how
// fast and how late. See `usage`.
import Foundation
import WattlineClient
import WattlineProtos

let arguments = Array(CommandLine.arguments.dropFirst())
let options = Options(arguments: Array(arguments.dropFirst()))

func client() throws -> WattlineClient {
    try WattlineClient(host: options.host, port: options.port, caPath: options.ca)
}

/// Signs in as `email` (password from WATTLINE_PASSWORD or standard input); the access token.
func signIn(_ connection: WattlineClient, email: String) async throws -> String {
    guard let password = ProcessInfo.processInfo.environment["WATTLINE_PASSWORD"] ?? readLine(strippingNewline: true) else {
        throw LoadError("give the password in WATTLINE_PASSWORD or on standard input")
    }
    return try await ImsV1.ImsService.Client(connection).login(.with {
        $0.email = email
        $0.password = password
    }, options: CallOptions(timeout: .seconds(30))).accessToken
}

do {
    switch arguments.first {
    case "setup":
        let email = try options.required("--email")
        guard let tenant = UUID(uuidString: try options.required("--tenant")),
              let site = UUID(uuidString: try options.required("--site")) else { throw LoadError("--tenant and --site take UUIDs") }
        let connection = try client()
        let token = try await signIn(connection, email: email)
        let started = ContinuousClock.now
        let fleet = try await Fleet.setup(
            client: connection, token: token, tenant: tenant, site: site,
            count: try options.int("--loggers", 10), meters: try options.int("--meters", 8))
        let out = options.string("--out") ?? ".wattline/load/fleet.json"
        try fleet.save(out)
        print("made \(fleet.loggers.count) loggers with \(fleet.loggers.first?.channels.count ?? 0) channels each in \(ContinuousClock.now - started); fleet in \(out)")
        await connection.close()
    case "run":
        let fleet = try Fleet.load(options.string("--fleet") ?? ".wattline/load/fleet.json")
        let count = min(fleet.loggers.count, try options.int("--loggers", fleet.loggers.count))
        let seconds = try options.int("--duration", 60)
        let intervalMs = try options.int("--interval-ms", 1_000)
        let loggers = Array(fleet.loggers.prefix(count))
        let batchSamples = try options.int("--batch-samples", 56)
        let sources: [any BatchSource]
        if let file = options.string("--replay") {
            let recorded = try ReplayedReadings.load(file, fleet: loggers)
            let shifted = options.flag("--rebase-to-now") ? ReplayedReadings.rebasedToNow(recorded) : recorded
            sources = loggers.indices.map { ReplayedReadings(samples: $0 < shifted.count ? shifted[$0] : [], batchSamples: batchSamples) }
        } else {
            sources = loggers.map { SyntheticReadings(channels: $0.channels, batchSamples: batchSamples) }
        }
        let report = try await LoadRun(
            loggers: loggers, sources: sources, makeClient: client, duration: .seconds(seconds),
            batchSamples: batchSamples, interval: intervalMs == 0 ? nil : .milliseconds(intervalMs),
            inFlight: max(1, try options.int("--in-flight", 8)),
            sampler: ProcessSampler(serverPID: options.string("--server-pid").flatMap(Int32.init)),
            ackedLog: options.string("--acked-log"),
            dropAt: try options.string("--drop-at").map { _ in .seconds(try options.int("--drop-at", 0)) },
            warmup: .seconds(try options.int("--warmup", 0))
        ).run()
        print(report)
    case "query-bench":
        let fleet = try Fleet.load(options.string("--fleet") ?? ".wattline/load/fleet.json")
        let email = try options.required("--email")
        let connection = try client()
        let token = try await signIn(connection, email: email)
        guard let tenant = UUID(uuidString: fleet.tenantID), let first = fleet.loggers.first else { throw LoadError("the fleet file has no loggers") }
        let figures = try await QueryBench(
            client: connection, options: CallOptions(timeout: .seconds(60), authorization: token), tenant: bytes(tenant),
            yearChannels: first.channels, allChannels: fleet.loggers.flatMap(\.channels), rounds: try options.int("--rounds", 200)
        ).run()
        for figure in figures { print("== \(figure)") }
        for figure in figures { print(figure.json) }
        await connection.close()
    case "copy-baseline":
        let fleet = try Fleet.load(options.string("--fleet") ?? ".wattline/load/fleet.json")
        let count = min(fleet.loggers.count, try options.int("--loggers", fleet.loggers.count))
        let batchSamples = try options.int("--batch-samples", 1_000)
        let (rows, seconds) = try await CopyBaseline(
            conninfo: try options.required("--conninfo"), loggers: Array(fleet.loggers.prefix(count)), batchSamples: batchSamples,
            batchesPerCommit: max(1, try options.int("--batches-per-commit", 10)), connections: max(1, try options.int("--connections", 2)),
            duration: .seconds(try options.int("--duration", 20))
        ).run()
        print(String(format: "== COPY baseline: %d rows in %.1f s = %.0f rows/s (binary COPY, indexed row-per-sample table)", rows, seconds, Double(rows) / seconds))
        print(String(format: #"{"benchmark":"copy_baseline","rows":%d,"seconds":%.2f,"rows_per_s":%.0f}"#, rows, seconds, Double(rows) / seconds))
    default:
        print(usage)
        exit(2)
    }
} catch {
    print("wattline-load: \(error)")
    exit(1)
}
