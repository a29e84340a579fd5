// Connection-level figures of the Wattline server over TLS 1.3 on loopback, the server in a child process:
//   ConnectionBenchmark --certs DIR [--seconds S] [--idle N] [--fleet N] [--clients N]   (DIR from Scripts/lib/dev-certs)
// 1. new and resumed handshakes/s (handshake + preface/HELLO exchange + close) against openssl s_server, measured
//    with openssl s_time and with the same Swift client loop; 2. server memory per idle connection;
// 3. one server holding `--fleet` idle connections. Ends with one JSON line (sorted keys).
import Foundation
import WattlineTLS

let options = Options(CommandLine.arguments.dropFirst().map { $0 })
if options.serve { try serve(certificates: options.certificates) }

signal(SIGPIPE, SIG_IGN)
let descriptorLimit = raiseOpenFileLimit()
guard descriptorLimit > max(options.fleet, options.idle) + 100 else {
    fatalError("\(max(options.fleet, options.idle)) connections need more than \(descriptorLimit) descriptors (RLIMIT_NOFILE)")
}
let clientTLS = try TLSContext(configuration: TLSConfiguration(
    trustedCAPath: options.certificates + "/ca.pem", serverName: "localhost"), role: .client)
let seconds = options.seconds
let clients = options.clients

func line(_ label: String, _ rate: HandshakeRate) {
    print(label.padding(toLength: 52, withPad: " ", startingAt: 0) + rate.summary)
}

func ratio(_ ours: HandshakeRate, _ theirs: HandshakeRate) -> String {
    theirs.perSecond > 0 ? String(format: "%.2f", ours.perSecond / theirs.perSecond) : "n/a"
}

// Client and server share the cores, so anything else running skews the rates (not the server CPU per connection).
let load = (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").first ?? "?"
print("== connections: TLS 1.3 on loopback, \(ProcessInfo.processInfo.activeProcessorCount) cores (load average \(load)), " +
      "\(clients) client loops, \(seconds) s per run, \(descriptorLimit) descriptors")

// 1. Handshakes. Before the Swift client's runs, a short warm-up (lazy initialisation, page faults); s_time -new
// warms up s_server for s_time -reuse.
let wattline = try await WattlineServerChild.start(certificates: options.certificates)
_ = try await measureHandshakes(port: wattline.port, tls: clientTLS, exchange: .wattlineHello, resume: false,
                                clients: clients, seconds: 0.3, serverPID: nil)
let ourNew = try await measureHandshakes(port: wattline.port, tls: clientTLS, exchange: .wattlineHello, resume: false,
                                         clients: clients, seconds: seconds, serverPID: wattline.process.pid)
let ourResumed = try await measureHandshakes(port: wattline.port, tls: clientTLS, exchange: .wattlineHello, resume: true,
                                             clients: clients, seconds: seconds, serverPID: wattline.process.pid)
wattline.process.stop()

let reverser = try await OpenSSLServer.start(certificates: options.certificates, mode: "-rev")
_ = try await measureHandshakes(port: reverser.port, tls: clientTLS, exchange: .reversedLine, resume: false,
                                clients: clients, seconds: 0.3, serverPID: nil)
let theirNew = try await measureHandshakes(port: reverser.port, tls: clientTLS, exchange: .reversedLine, resume: false,
                                           clients: clients, seconds: seconds, serverPID: reverser.process.pid)
let theirResumed = try await measureHandshakes(port: reverser.port, tls: clientTLS, exchange: .reversedLine, resume: true,
                                               clients: clients, seconds: seconds, serverPID: reverser.process.pid)
reverser.stop()

let web = try await OpenSSLServer.start(certificates: options.certificates, mode: "-WWW")
let (sTimeNew, sTimeNewOwn) = try await sTime(port: web.port, reuse: false, seconds: seconds, serverPID: web.process.pid)
let (sTimeResumed, sTimeResumedOwn) = try await sTime(port: web.port, reuse: true, seconds: seconds, serverPID: web.process.pid)
web.stop()

print("-- handshake + one exchange + close, per second (wall clock)")
line("Wattline server, Swift client, new", ourNew)
line("Wattline server, Swift client, resumed", ourResumed)
line("openssl s_server -rev, Swift client, new", theirNew)
line("openssl s_server -rev, Swift client, resumed", theirResumed)
line("openssl s_server -WWW, s_time -new", sTimeNew)
line("openssl s_server -WWW, s_time -reuse", sTimeResumed)
print("   (s_time's own count: new \"\(sTimeNewOwn)\"; reuse \"\(sTimeResumedOwn)\")")
print("   Wattline/openssl, same Swift client: new \(ratio(ourNew, theirNew)), resumed \(ratio(ourResumed, theirResumed))")
print("   Wattline/openssl s_time:             new \(ratio(ourNew, sTimeNew)), resumed \(ratio(ourResumed, sTimeResumed))")

// 2. Memory per idle connection, in a fresh server. A few connections stay open through the "before" reading,
// so one-time costs (threads, OpenSSL tables, allocator arenas) are not charged to the N.
let idleServer = try await WattlineServerChild.start(certificates: options.certificates)
let warm = try await IdleConnections.open(8, port: idleServer.port, tls: clientTLS)
try await Task.sleep(for: .seconds(1))
let rssBefore = idleServer.residentBytes
let idle = try await IdleConnections.open(options.idle, port: idleServer.port, tls: clientTLS)
try await Task.sleep(for: .seconds(1))
let rssAfter = idleServer.residentBytes
let idleBytes = (rssAfter - rssBefore) / options.idle
let idleAnswered = try await IdleConnections.callAll(idle)
print("-- memory per idle connection (TLS + HELLO + one call, then idle)")
print(String(format: "server RSS %.1f MiB before, %.1f MiB with %d more connections: %d bytes (%.1f KiB) each; %d/%d answer afterwards",
             Double(rssBefore) / 1_048_576, Double(rssAfter) / 1_048_576, options.idle, idleBytes,
             Double(idleBytes) / 1_024, idleAnswered, options.idle))
try await IdleConnections.closeAll(idle + warm)
idleServer.process.stop()

// 3. The fleet: one server process holding all of them at once.
let fleetServer = try await WattlineServerChild.start(certificates: options.certificates)
let fleetStart = ContinuousClock.now
let fleet = try await IdleConnections.open(options.fleet, port: fleetServer.port, tls: clientTLS)
let fleetOpenTime = ContinuousClock.now - fleetStart
try await Task.sleep(for: .seconds(1))
let fleetRSS = fleetServer.residentBytes
let fleetAnswered = try await IdleConnections.callAll(fleet)
print("-- \(options.fleet) concurrent idle connections to one server")
print(String(format: "opened in %.1f s; server RSS %.1f MiB (%.1f KiB per connection); %d/%d answer a call afterwards",
             Double(fleetOpenTime.components.seconds) + Double(fleetOpenTime.components.attoseconds) / 1e18,
             Double(fleetRSS) / 1_048_576, Double(fleetRSS) / Double(options.fleet) / 1_024, fleetAnswered, options.fleet))
try await IdleConnections.closeAll(fleet)
fleetServer.process.stop()

let summary: [String: Any] = [
    "system": "wattline",
    "new_handshakes_per_s": ourNew.perSecond.rounded(),
    "resumed_handshakes_per_s": ourResumed.perSecond.rounded(),
    "openssl_new_handshakes_per_s": sTimeNew.perSecond.rounded(),
    "openssl_resumed_handshakes_per_s": sTimeResumed.perSecond.rounded(),
    "idle_conn_bytes": idleBytes,
    "idle_connections": idleAnswered,
    "fleet_connections": fleetAnswered,
    "fleet_server_rss_bytes": fleetRSS,
]
print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))
