// Sign-in latency end to end: ImsService.Login through the SDK over loopback, against the server
// as wattline-server assembles it (WattlineServices) on the embedded development PostgreSQL, with
// the production argon2id parameters. Login is dominated by one argon2id verification; the
// unknown-address and wrong-password answers must take the same time (no account enumeration).
import Foundation
import Logging
import NIOCore
import NIOPosix
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineServices
import WattlineStore
import WattlineWire

let root = FileManager.default.currentDirectoryPath
let dev = DevDatabase(projectRoot: root, database: "wattline_bench_login")
// A fresh database each run: its keys are wrapped under this run's master key.
try dev.cluster.start()
try PGConnection(conninfo: dev.cluster.conninfo(database: "postgres")).execute("DROP DATABASE IF EXISTS wattline_bench_login WITH (FORCE)")
try dev.prepare()
let master = try MasterKey(SecretKey.random())
var settings = Services.Settings(
    appConninfo: dev.appConninfo, imsConninfo: dev.imsConninfo, master: master,
    tokenKeys: try SigningKeyRing(current: Ed25519SigningKey.generate()),
    deviceCA: try DeviceCA.generate(commonName: "Login benchmark CA").ca, notifier: NoDeliveryNotifier())
settings.ims.throttle.delay = .zero
settings.ims.throttle.sourceLockoutThreshold = 1_000_000
settings.ims.throttle.lockoutThreshold = 1_000_000  // measure the hashing, not the throttle
let services = try await Services.start(settings, logger: Logger(label: "bench"))
let router = services.router
let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
    .childChannelInitializer { channel in
        channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: router)) }
    }
    .bind(host: "127.0.0.1", port: 0).get()
let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
let ims = ImsV1.ImsService.Client(client)

let password = "benchmark passphrase \(UUID().uuidString.prefix(8))"
let email = "login-\(UUID().uuidString.lowercased())@bench.test"
let adminStore = try await Store.open(.init(conninfo: dev.imsConninfo, poolSize: 1))
_ = try await ImsAdmin(store: adminStore, keyring: IMSKeyring(master: master)).createIdentity(email: email, password: password)

/// Milliseconds of one call (a failure is the expected answer for two of the three kinds).
func milliseconds(_ body: () async throws -> Void) async -> Double {
    let start = ContinuousClock.now
    try? await body()
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) * 1_000 + Double(elapsed.components.attoseconds) / 1e15
}

func percentile(_ values: [Double], _ p: Double) -> Double {
    let sorted = values.sorted()
    return sorted[min(sorted.count - 1, Int((Double(sorted.count) * p).rounded(.up)) - 1)]
}

let options = CallOptions(timeout: .seconds(30))
_ = try await ims.login(.with { $0.email = email; $0.password = password }, options: options)  // warm up
// The three kinds in turn, so that a change in the machine's load hits them alike.
let count = 30
var ok: [Double] = [], wrong: [Double] = [], unknown: [Double] = []
for _ in 0..<count {
    ok.append(await milliseconds { _ = try await ims.login(.with { $0.email = email; $0.password = password }, options: options) })
    wrong.append(await milliseconds {
        _ = try await ims.login(.with { $0.email = email; $0.password = "not the password at all" }, options: options)
    })
    unknown.append(await milliseconds {
        _ = try await ims.login(.with { $0.email = "nobody-\(UUID().uuidString.prefix(8))@bench.test"; $0.password = password }, options: options)
    })
}
print("== sign-in: ImsService.Login over loopback, argon2id m=46 MiB t=2 p=1, \(count) calls of each kind, interleaved")
for (label, values) in [("success", ok), ("wrong password", wrong), ("unknown address", unknown)] {
    print(String(format: "%-16@ p50 %6.1f ms   p99 %6.1f ms", label as NSString, percentile(values, 0.5), percentile(values, 0.99)))
}
print(String(format: "unknown address / wrong password, p50 ratio: %.2f (1.00 = indistinguishable)", percentile(unknown, 0.5) / percentile(wrong, 0.5)))
print(String(decoding: try JSONSerialization.data(withJSONObject: [
    "login_p50_ms": (percentile(ok, 0.5) * 10).rounded() / 10, "login_p99_ms": (percentile(ok, 0.99) * 10).rounded() / 10,
    "wrong_password_p50_ms": (percentile(wrong, 0.5) * 10).rounded() / 10,
    "unknown_address_p50_ms": (percentile(unknown, 0.5) * 10).rounded() / 10,
], options: [.sortedKeys]), as: UTF8.self))
await client.close()
try await server.close()
services.shutdown()
adminStore.shutdown()
