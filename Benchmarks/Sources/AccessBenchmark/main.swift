// The cost of authenticating and authorizing one call: AccessInterceptor with a bearer token it
// has seen before and a request naming its tenant (the common case: a token is presented on many calls within its lifetime), and
// the policy lookup alone. Target: ≤ 2 µs per call. Token verification rates are CryptoBenchmark's.
import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineWire

struct NoRevocations: CredentialDirectory {
    func logger(certificateSHA256: String) async throws -> LoggerIdentity? { nil }
    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? { nil }
    func isSessionRevoked(_ sessionID: String) async throws -> Bool { false }
}

let tenant = "0190f5a8-0000-7000-8000-00000000000a"
let key = try Ed25519SigningKey.generate()
let issuer = try AccessTokenIssuer(signingKey: key, issuer: "wattline", audience: "wattline")
let verifier = try AccessTokenVerifier(keys: [key.keyID: key.publicKey], issuer: "wattline", audience: "wattline")
let token = try issuer.issue(
    subject: "0190f5a8-0000-7000-8000-0000000000f1", sessionID: "0190f5a8-0000-7000-8000-0000000000e1",
    tenantID: tenant, roles: ["tenant:\(tenant):viewer", "site:\(tenant):0190f5a8-0000-7000-8000-0000000000c1:responsible"])
let interceptor = AccessInterceptor(verifier: verifier, directory: NoRevocations())
// The request names its tenant, as every tenant-scoped request does; the interceptor reads it.
let request = TelemetryV1.ReadLatestRequest.with {
    $0.tenantID = withUnsafeBytes(of: UUID(uuidString: tenant)!.uuid) { Array($0) }
}
let context = CallContext(
    method: TelemetryV1.QueryService.ReadLatest.path, kind: .unary, deadline: nil, metadata: [],
    authorization: "Bearer " + token.value, peer: PeerIdentity()).with(request)

/// Runs off the main actor: top-level code is main-actor isolated, and a hop to and from it per
/// call would be all this measured.
func measure(_ label: String, iterations: Int, _ body: @escaping @Sendable () async throws -> Void) async throws -> Double {
    try await Task.detached { try await run(label, iterations: iterations, body) }.value
}

@Sendable func run(_ label: String, iterations: Int, _ body: @Sendable () async throws -> Void) async throws -> Double {
    for _ in 0..<1_000 { try await body() }  // warm up (and fill the token cache)
    let clock = ContinuousClock()
    var best = Double.infinity
    for _ in 0..<5 {
        let start = clock.now
        for _ in 0..<iterations { try await body() }
        let elapsed = clock.now - start
        let nanoseconds = (Double(elapsed.components.seconds) * 1e9 + Double(elapsed.components.attoseconds) / 1e9) / Double(iterations)
        best = min(best, nanoseconds)
    }
    print(String(format: "%-58@ %8.0f ns/call (best of 5 × %d)", label as NSString, best, iterations))
    return best
}

print("== access: authenticate and authorize one call (token of \(token.value.utf8.count) bytes)")
let full = try await measure("AccessInterceptor, cached bearer token, viewer read", iterations: 200_000) {
    _ = try await interceptor.intercept(context) { $0.tenantID }
}
let verification = try await measure("AccessTokenVerifier.verify alone, cached", iterations: 200_000) {
    _ = try verifier.verify(token.value)
}
let grants = try await measure("Grants(roleStrings:) alone", iterations: 200_000) {
    _ = Grants(roleStrings: token.claims.roles)
}
let policy = try await measure("AccessPolicy.allows alone", iterations: 1_000_000) {
    _ = AccessPolicy.allows(.person(identityID: "i", sessionID: "s", grants: Grants(tenantRoles: [tenant: .viewer])),
                            TelemetryV1.QueryService.ReadLatest.path, tenantID: tenant)
}
print(String(format: "authorization overhead per call: %.2f µs (target ≤ 2 µs): %@", full / 1_000, full <= 2_000 ? "met" : "NOT MET"))
print(String(decoding: try JSONSerialization.data(withJSONObject: [
    "access_interceptor_ns": (full * 10).rounded() / 10, "access_policy_ns": (policy * 10).rounded() / 10,
    "token_verify_cached_ns": (verification * 10).rounded() / 10, "grants_parse_ns": (grants * 10).rounded() / 10,
], options: [.sortedKeys]), as: UTF8.self))
