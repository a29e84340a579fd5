import Foundation
import Testing
import WattlineAccess
import WattlineWire
@testable import WattlineIMS

enum CallContextFactory {
    static func make(authorization: String, remote: String? = "[IPv4]127.0.0.1/127.0.0.1:5555") -> CallContext {
        CallContext(method: "/test", kind: .unary, deadline: nil, metadata: [], authorization: authorization,
                    peer: PeerIdentity(remoteAddress: remote))
    }
}

@Suite struct UnitTests {
    @Test func sourceAddressesLoseTheirPort() {
        #expect(SourceAddress.ip(fromRemoteAddress: "[IPv4]127.0.0.1/127.0.0.1:5555") == "127.0.0.1")
        #expect(SourceAddress.ip(fromRemoteAddress: "[IPv4]203.0.113.9:443") == "203.0.113.9")
        #expect(SourceAddress.ip(fromRemoteAddress: "[IPv6]::1:5555") == "::1")
        #expect(SourceAddress.ip(fromRemoteAddress: "[IPv6]2001:db8:0:0::7:5555") == "2001:db8::7")
        #expect(SourceAddress.ip(fromRemoteAddress: "[IPv6]::ffff:198.51.100.4:80") == "198.51.100.4")
        #expect(SourceAddress.ip(fromRemoteAddress: "[UDS]/tmp/socket") == nil)
        #expect(SourceAddress.ip(fromRemoteAddress: nil) == nil)
        #expect(SourceAddress.throttleKey("2001:db8:1:2:3:4:5:6") == SourceAddress.throttleKey("2001:db8:1:2:ffff::1"))
        #expect(SourceAddress.throttleKey("203.0.113.9") == "ip4:203.0.113.9")
    }

    @Test func throttlePolicyGrowsAndCaps() {
        var policy = LoginThrottlePolicy()
        policy.delay = .milliseconds(250)
        #expect(policy.delay(afterFailures: 1) == .milliseconds(250))
        #expect(policy.delay(afterFailures: 3) == .seconds(1))
        #expect(policy.delay(afterFailures: 30) == .seconds(2))
        #expect(policy.lock(afterFailures: 4, threshold: 5, base: .seconds(60)) == nil)
        #expect(policy.lock(afterFailures: 5, threshold: 5, base: .seconds(60)) == .seconds(60))
        #expect(policy.lock(afterFailures: 6, threshold: 5, base: .seconds(60)) == .seconds(120))
        #expect(policy.lock(afterFailures: 50, threshold: 5, base: .seconds(60)) == .seconds(3600))
    }

    @Test func hashingIsBoundedAndOverloadIsRefused() async throws {
        let workers = HashWorkers(threads: 1, maxWaiting: 1)
        defer { workers.shutdown() }
        let gate = DispatchSemaphore(value: 0)
        let started = DispatchSemaphore(value: 0)
        async let first: Int = workers.run { started.signal(); gate.wait(); return 1 }
        started.wait()
        async let second: Int = workers.run { 2 }  // waits
        try await Task.sleep(for: .milliseconds(100))
        await #expect(throws: HashWorkers.Overloaded.self) { try await workers.run { 3 } }
        gate.signal()
        #expect(try await first == 1)
        #expect(try await second == 2)
        #expect(try await workers.run { 4 } == 4)
    }

    @Test func pageTokensRoundTrip() throws {
        let id = UUID()
        let token = ImsService.encodePageToken((1_234_567, id))
        let decoded = try #require(ImsService.decodePageToken(token))
        #expect(decoded.lastUsed == 1_234_567 && decoded.sessionID == id)
        #expect(ImsService.decodePageToken("nope") == nil)
    }
}
