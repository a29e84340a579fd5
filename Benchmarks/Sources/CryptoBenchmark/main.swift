// AES-256-GCM throughput of WattlineCrypto on 8 KiB values, against `openssl speed` in the same run.
//
//   CryptoBenchmark [--seconds S] [--rounds N] [--size BYTES]
//
// Each measurement runs for about S seconds (default 1), split into N rounds (default 7), and
// reports the median round. `openssl speed -evp aes-256-gcm` times bare EVP_EncryptUpdate on one
// context, so the ratio charges our per-value costs (fresh random nonce, associated data, tag,
// framing) against OpenSSL's pure bulk rate. Target: ours/openssl ≥ 0.9 for the context path.
//
// Then the latency of one argon2id password hash and one verification with the default
// parameters (median of N single calls): what a login costs on the server.
import Foundation
import WattlineCrypto

var seconds = 1.0
var rounds = 7
var size = 8192
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
    switch argument {
    case "--seconds": seconds = Double(arguments.popFirst() ?? "") ?? seconds
    case "--rounds": rounds = Int(arguments.popFirst() ?? "") ?? rounds
    case "--size": size = Int(arguments.popFirst() ?? "") ?? size
    default: fatalError("usage: CryptoBenchmark [--seconds S] [--rounds N] [--size BYTES]")
    }
}

/// Keeps the optimiser from discarding work whose result is otherwise unused.
@inline(never)
func blackHole<T>(_ value: T) {
    withExtendedLifetime(value) {}
}

func elapsedSeconds(_ body: () -> Void) -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Median throughput in MB/s (10^6 bytes/s, as `openssl speed` counts) of `body`, which
/// processes `bytesPerCall` plaintext bytes per call.
@MainActor
func throughput(_ name: String, bytesPerCall: Int, _ body: () -> Void) -> Double {
    var calibration = 0
    let warmUp = elapsedSeconds { while calibration < 1_000 { body(); calibration += 1 } }
    let iterations = max(1, Int(Double(calibration) * seconds / Double(rounds) / warmUp))
    var rates: [Double] = []
    for _ in 0..<rounds {
        let time = elapsedSeconds { for _ in 0..<iterations { body() } }
        rates.append(Double(iterations * bytesPerCall) / time / 1e6)
    }
    rates.sort()
    let median = rates[rounds / 2]
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%10.1f MB/s", median))
    return median
}

/// `openssl speed -evp aes-256-gcm` for `size`-byte blocks in MB/s, or nil if it cannot be run.
func opensslSpeed(size: Int) -> (megabytesPerSecond: Double, version: String)? {
    let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
        .map { "\($0)/openssl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    guard let path else { return nil }
    func run(_ arguments: [String]) -> String? {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: output, as: UTF8.self)
    }
    guard let output = run(["speed", "-evp", "aes-256-gcm", "-bytes", String(size), "-seconds", "2"]) else { return nil }
    // e.g. "AES-256-GCM    4166501.87k" — in 1000s of bytes per second.
    for line in output.split(separator: "\n") where line.lowercased().hasPrefix("aes-256-gcm") {
        guard let field = line.split(separator: " ").last, field.hasSuffix("k"), let thousands = Double(field.dropLast())
        else { continue }
        let version = run(["version"])?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "unknown"
        return (thousands / 1000, version)
    }
    return nil
}

let key = try SecretKey.random()
let associatedData = try AssociatedData(
    tenant: Array(repeating: 0x42, count: 16), table: "telemetry_batches", column: "payload", row: Array(repeating: 7, count: 8)
).bytes
let plaintext = (0..<size).map { UInt8(truncatingIfNeeded: $0) }
let context = try AEAD.Context(key: key)
var sealedBuffer = [UInt8](repeating: 0, count: AEAD.sealedByteCount(plaintextByteCount: size))
var openedBuffer = [UInt8](repeating: 0, count: size)
let sealed = try AEAD.seal(plaintext, key: key, associatedData: associatedData)

print("AES-256-GCM, \(size)-byte values, median of \(rounds) rounds over ~\(seconds) s each")
var results: [(name: String, megabytesPerSecond: Double)] = []
plaintext.withUnsafeBytes { input in
    associatedData.withUnsafeBytes { ad in
        sealed.withUnsafeBytes { sealedInput in
            sealedBuffer.withUnsafeMutableBytes { sealOutput in
                openedBuffer.withUnsafeMutableBytes { openOutput in
                    results.append(("context_seal", throughput("seal (AEAD.Context, into buffer)", bytesPerCall: size) {
                        blackHole(try! context.seal(input, associatedData: ad, into: sealOutput))
                    }))
                    results.append(("context_open", throughput("open (AEAD.Context, into buffer)", bytesPerCall: size) {
                        blackHole(try! context.open(sealedInput, associatedData: ad, into: openOutput))
                    }))
                }
            }
        }
    }
}
results.append(("static_seal", throughput("seal (AEAD.seal -> [UInt8], per-call setup)", bytesPerCall: size) {
    blackHole(try! AEAD.seal(plaintext, key: key, associatedData: associatedData))
}))
results.append(("static_open", throughput("open (AEAD.open -> [UInt8], per-call setup)", bytesPerCall: size) {
    blackHole(try! AEAD.open(sealed, key: key, associatedData: associatedData))
}))
let reopened = try AEAD.open(sealed, key: key, associatedData: associatedData)
precondition(reopened == plaintext, "round trip failed")

var summary: [String: Any] = ["benchmark": "crypto_aes256gcm", "bytes": size]
for result in results { summary["\(result.name)_mb_per_s"] = (result.megabytesPerSecond * 10).rounded() / 10 }
if let openssl = opensslSpeed(size: size) {
    let ratio = { (name: String) in results.first { $0.name == name }!.megabytesPerSecond / openssl.megabytesPerSecond }
    print("openssl speed -evp aes-256-gcm".padding(toLength: 44, withPad: " ", startingAt: 0)
        + String(format: "%10.1f MB/s  (%@)", openssl.megabytesPerSecond, openssl.version))
    print(String(format: "ours/openssl: seal %.2f, open %.2f (context); seal %.2f, open %.2f (static); target >= 0.90",
                 ratio("context_seal"), ratio("context_open"), ratio("static_seal"), ratio("static_open")))
    summary["openssl_mb_per_s"] = (openssl.megabytesPerSecond * 10).rounded() / 10
    summary["openssl_version"] = openssl.version
    for name in ["context_seal", "context_open", "static_seal", "static_open"] {
        summary["ratio_\(name)"] = (ratio(name) * 1000).rounded() / 1000
    }
    summary["meets_target"] = ratio("context_seal") >= 0.9 && ratio("context_open") >= 0.9
} else {
    print("openssl not found on PATH or its output was not understood; no ratio")
}
/// Median wall time in milliseconds of `rounds` single calls of `body`, after one warm-up call.
@MainActor
func latency(_ name: String, _ body: () -> Void) -> Double {
    body()
    let times = (0..<rounds).map { _ in elapsedSeconds(body) * 1000 }.sorted()
    let median = times[rounds / 2]
    print(name.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "%10.1f ms", median))
    return median
}

let hasher = PasswordHasher()
let password = "correct horse battery staple"
let stored = try hasher.hash(password)
print("argon2id, default parameters \(hasher.parameters), median of \(rounds) calls")
let hashMilliseconds = latency("hash (PasswordHasher.hash)") { blackHole(try! hasher.hash(password)) }
let verifyMilliseconds = latency("verify (PasswordHasher.verify, match)") {
    precondition(hasher.verify(password, against: stored) == .valid(needsRehash: false), "verify failed")
}
summary["argon2id_parameters"] = hasher.parameters.description
summary["argon2id_hash_ms"] = (hashMilliseconds * 10).rounded() / 10
summary["argon2id_verify_ms"] = (verifyMilliseconds * 10).rounded() / 10
print(String(decoding: try JSONSerialization.data(withJSONObject: summary, options: [.sortedKeys]), as: UTF8.self))

// MARK: - Access tokens: Ed25519 JWS verifications/s on one core, uncached and cached

// Self-contained: its own helpers, and everything inside one `do` scope. The tokens are what the
// identity service issues (three roles, a tenant, a scope); the verifier checks everything each
// time, `now` from the wall clock. "cached" presents tokens again, as clients do within a token's
// lifetime. Rates are per CPU second of this thread (per core, whatever else the machine runs),
// as `openssl speed ed25519`, run in the same process, divides by its CPU time; wall-clock rates
// are shown beside them.
do {
    func threadCPUSeconds() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Median operations per CPU second (and per wall second) of `body` over `rounds` rounds.
    func operationsPerSecond(_ name: String, _ body: () -> Void) -> (cpu: Double, wall: Double) {
        var calibration = 0
        let warmUp = elapsedSeconds { while calibration < 200 { body(); calibration += 1 } }
        let iterations = max(1, Int(Double(calibration) * seconds / Double(rounds) / warmUp))
        var cpuRates: [Double] = []
        var wallRates: [Double] = []
        for _ in 0..<rounds {
            let cpuStart = threadCPUSeconds()
            let wall = elapsedSeconds { for _ in 0..<iterations { body() } }
            cpuRates.append(Double(iterations) / (threadCPUSeconds() - cpuStart))
            wallRates.append(Double(iterations) / wall)
        }
        let cpu = cpuRates.sorted()[rounds / 2]
        let wall = wallRates.sorted()[rounds / 2]
        print(name.padding(toLength: 52, withPad: " ", startingAt: 0) + String(format: "%10.0f /s   (wall %.0f /s)", cpu, wall))
        return (cpu, wall)
    }

    /// `openssl speed ed25519`: (sign/s, verify/s), or nil if it cannot be run or understood.
    func opensslEd25519() -> (sign: Double, verify: Double)? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":")
            .map { "\($0)/openssl" }.first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path else { return nil }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["speed", "-seconds", "2", "ed25519"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return nil }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        // e.g. " 253 bits EdDSA (Ed25519)   0.0000s   0.0001s  25017.8   9302.4"
        for line in output.split(separator: "\n") where line.contains("(Ed25519)") {
            let fields = line.split(separator: " ")
            guard fields.count >= 2, let sign = Double(fields[fields.count - 2]), let verify = Double(fields[fields.count - 1])
            else { continue }
            return (sign, verify)
        }
        return nil
    }

    let tokenKey = try Ed25519SigningKey.generate()
    let tokenIssuer = try AccessTokenIssuer(
        signingKey: tokenKey, issuer: "https://ims.wattline.example", audience: "wattline-api", lifetime: .seconds(900))
    let tenant = "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5d"
    func newToken() throws -> String {
        try tokenIssuer.issue(
            subject: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b", sessionID: "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5c", tenantID: tenant,
            roles: ["tenant:\(tenant):admin", "site:0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5e:responsible", "platform:operator"],
            scope: "telemetry.read sites.write"
        ).value
    }
    let token = try newToken()
    let workingSet = try (0..<1_000).map { _ in try newToken() }
    let ring = [tokenKey.keyID: tokenKey.publicKey]
    let uncachedVerifier = try AccessTokenVerifier(keys: ring, issuer: tokenIssuer.issuer, audience: tokenIssuer.audience, cacheCapacity: 0)
    let cachedVerifier = try AccessTokenVerifier(keys: ring, issuer: tokenIssuer.issuer, audience: tokenIssuer.audience)
    let message = Array(token.utf8.prefix(while: { $0 != UInt8(ascii: ".") }))
    let signature = try tokenKey.sign(message)

    print("\nAccess tokens (Ed25519 JWS, \(token.utf8.count) bytes), one thread, median of \(rounds) rounds over ~\(seconds) s each")
    var tokenResults: [String: (cpu: Double, wall: Double)] = [:]
    tokenResults["ed25519_sign"] = operationsPerSecond("Ed25519 sign (Ed25519SigningKey, EVP)") {
        blackHole(try! tokenKey.sign(message))
    }
    tokenResults["ed25519_verify"] = operationsPerSecond("Ed25519 verify (Ed25519PublicKey, EVP)") {
        precondition(tokenKey.publicKey.isValidSignature(signature, for: message))
    }
    tokenResults["issue"] = operationsPerSecond("issue (AccessTokenIssuer)") {
        blackHole(try! newToken())
    }
    tokenResults["verify_uncached"] = operationsPerSecond("verify, uncached (cache off)") {
        blackHole(try! uncachedVerifier.verify(token))
    }
    tokenResults["verify_cached_same_token"] = operationsPerSecond("verify, cached (same token again)") {
        blackHole(try! cachedVerifier.verify(token))
    }
    var next = 0
    for presented in workingSet { _ = try cachedVerifier.verify(presented) }
    tokenResults["verify_cached_1000_tokens"] = operationsPerSecond("verify, cached (1,000 live tokens, round robin)") {
        blackHole(try! cachedVerifier.verify(workingSet[next]))
        next = next == workingSet.count - 1 ? 0 : next + 1
    }

    var tokenSummary: [String: Any] = ["benchmark": "access_tokens", "token_bytes": token.utf8.count, "target_verify_per_cpu_s": 50_000]
    for (name, rate) in tokenResults {
        tokenSummary["\(name)_per_cpu_s"] = rate.cpu.rounded()
        tokenSummary["\(name)_per_wall_s"] = rate.wall.rounded()
    }
    if let openssl = opensslEd25519() {
        print("openssl speed ed25519".padding(toLength: 52, withPad: " ", startingAt: 0)
            + String(format: "%10.0f /s sign, %.0f /s verify (per CPU second)", openssl.sign, openssl.verify))
        print(String(format: "ours/openssl per CPU second: sign %.2f, verify %.2f",
                     tokenResults["ed25519_sign"]!.cpu / openssl.sign, tokenResults["ed25519_verify"]!.cpu / openssl.verify))
        tokenSummary["openssl_sign_per_cpu_s"] = openssl.sign.rounded()
        tokenSummary["openssl_verify_per_cpu_s"] = openssl.verify.rounded()
    } else {
        print("openssl not found on PATH or its output was not understood")
    }
    tokenSummary["meets_target_uncached"] = tokenResults["verify_uncached"]!.cpu >= 50_000
    tokenSummary["meets_target_cached"] = tokenResults["verify_cached_1000_tokens"]!.cpu >= 50_000
    print(String(decoding: try JSONSerialization.data(withJSONObject: tokenSummary, options: [.sortedKeys]), as: UTF8.self))
}
