import Foundation
import MetricsTestKit
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import WattlineTestSupport
@testable import WattlineTLS

/// Logger certificates with the device CA's profile (WattlineCrypto.LoggerCertificateProfile), made
/// with the openssl CLI under the test CA: this target cannot import WattlineCrypto's `DeviceCA`.
/// logger-a has a P-256 key, logger-b an Ed25519 key (the two key types the device CA accepts).
struct LoggerCertificates: Sendable {
    let directory: String
    let fingerprints: [String: String]

    func configuration(_ name: String, trusting certificates: TestCertificates) -> TLSConfiguration {
        TLSConfiguration(
            certificateChainPath: "\(directory)/\(name).pem", privateKeyPath: "\(directory)/\(name).key",
            trustedCAPath: certificates.caPath, serverName: "localhost")
    }

    static let shared: LoggerCertificates = {
        do { return try generate() } catch { fatalError("logger certificate generation failed: \(error)") }
    }()

    private static func generate() throws -> LoggerCertificates {
        let ca = TestCertificates.shared
        let dir = ca.directory + "/loggers"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        func openssl(_ arguments: String...) throws -> String {
            let result = runSynchronously(["/usr/bin/openssl"] + arguments, in: dir)
            guard result.status == 0 else { throw TLSError(.internalError, "openssl \(arguments): \(result.output)") }
            return result.output
        }
        var fingerprints: [String: String] = [:]
        let site = "16fd2706-8baf-433b-82eb-8c7fada847da", tenant = "0f8fad5b-d9cb-469f-a165-70867728950e"
        for (name, logger, keyArguments) in [
            ("logger-a", "7c9e6679-7425-40de-944b-e07fc1f90ae7", ["ecparam", "-name", "prime256v1", "-genkey", "-noout"]),
            ("logger-b", "9b2e4a31-60f4-4c57-9f8e-2d0c4f1e8a55", ["genpkey", "-algorithm", "ED25519"]),
        ] {
            try """
                basicConstraints = critical,CA:FALSE
                keyUsage = critical,digitalSignature
                extendedKeyUsage = clientAuth
                subjectAltName = URI:urn:wattline:logger:\(logger),URI:urn:wattline:site:\(site),URI:urn:wattline:tenant:\(tenant)
                subjectKeyIdentifier = hash
                authorityKeyIdentifier = keyid:always
                """.write(toFile: "\(dir)/\(name).ext", atomically: true, encoding: .utf8)
            let generated = runSynchronously(["/usr/bin/openssl"] + keyArguments + ["-out", "\(name).key"], in: dir)
            guard generated.status == 0 else { throw TLSError(.internalError, "key \(name): \(generated.output)") }
            _ = try openssl("req", "-new", "-key", "\(name).key", "-subj", "/O=Wattline device/CN=logger-\(logger)", "-out", "\(name).csr")
            _ = try openssl(
                "x509", "-req", "-in", "\(name).csr", "-CA", "../ca.pem", "-CAkey", "../ca.key", "-set_serial",
                "0x" + String(UInt64.random(in: 1...UInt64.max / 2), radix: 16), "-days", "2", "-extfile", "\(name).ext",
                "-out", "\(name).pem")
            let line = try openssl("x509", "-in", "\(name).pem", "-noout", "-fingerprint", "-sha256")
            let value = line.split(separator: "=", maxSplits: 1).last.map(String.init) ?? ""
            fingerprints[name] = value.filter { $0 != ":" && !$0.isWhitespace }.lowercased()
        }
        return LoggerCertificates(directory: dir, fingerprints: fingerprints)
    }
}

/// The revoked set a server consults; in production the IMS's revoked credentials, loaded into memory.
final class RevokedFingerprints: Sendable {
    private let revoked = Mutex(Set<String>())
    private let asked = Mutex(0)

    func revoke(_ fingerprint: String) { _ = revoked.withLock { $0.insert(fingerprint) } }
    var timesAsked: Int { asked.withLock { $0 } }

    var hook: @Sendable (String) -> Bool {
        { fingerprint in
            self.asked.withLock { $0 += 1 }
            return self.revoked.withLock { $0.contains(fingerprint) }
        }
    }
}

@Suite struct RevocationTests {
    let certificates = TestCertificates.shared
    let loggers = LoggerCertificates.shared

    func server(requireClientCertificate: Bool, _ revoked: RevokedFingerprints) async throws -> TestServer {
        var configuration = certificates.serverConfiguration(mutual: requireClientCertificate)
        configuration.certificateRevoked = revoked.hook
        return try await TestServer.start(configuration)
    }

    /// Connects `name`, sends `message`, and returns once the echo is back.
    func echo(_ name: String, _ message: String, port: Int, context: TLSContext? = nil, session: TLSSession? = nil)
        async throws -> (any Channel, Observations)
    {
        let configuration = loggers.configuration(name, trusting: certificates)
        let (channel, seen) = try await connectTLSClient(port: port, configuration, context: context, resuming: session)
        try await channel.writeAndFlush(channel.allocator.buffer(string: message))
        #expect(await waitUntil { seen.snapshot.received == Array(message.utf8) }, "\(name) got no echo")
        return (channel, seen)
    }

    @Test(arguments: [true, false])
    func revokedLoggerIsRefusedAtConnectOthersAreNot(requireClientCertificate: Bool) async throws {
        let revoked = RevokedFingerprints()
        let server = try await server(requireClientCertificate: requireClientCertificate, revoked)
        let fingerprintA = try #require(loggers.fingerprints["logger-a"])

        // Before revocation logger-a connects and echoes; the server sees the fingerprint openssl computes.
        let (first, _) = try await echo("logger-a", "before", port: server.port)
        try await first.close()
        #expect(server.observations.snapshot.handshakes.map(\.peerCertificateSHA256) == [fingerprintA])
        #expect(revoked.timesAsked >= 1)

        revoked.revoke(fingerprintA)
        let handshakesBefore = server.observations.snapshot.handshakes.count
        let receivedBefore = server.observations.snapshot.received

        // A new connection with the same certificate is refused during the handshake.
        let (refused, refusedSeen) = try await connectTLSClient(
            port: server.port, loggers.configuration("logger-a", trusting: certificates))
        refused.writeAndFlush(refused.allocator.buffer(string: "after revocation"), promise: nil)
        #expect(await waitUntil { refusedSeen.snapshot.closed })
        #expect(await waitUntil { server.observations.tlsErrors.contains { $0.code == .certificateRevoked } })
        // The logger is told why: libssl sent a certificate_revoked alert.
        #expect(refusedSeen.tlsErrors.contains { $0.code == .certificateRevoked }, "\(refusedSeen.snapshot.errors)")
        #expect(server.observations.snapshot.handshakes.count == handshakesBefore)
        #expect(server.observations.snapshot.received == receivedBefore)  // no application data reached the handler

        // Another logger of the same CA still works, as does an app without a certificate where that is allowed.
        let (other, _) = try await echo("logger-b", "still fine", port: server.port)
        try await other.close()
        #expect(server.observations.snapshot.handshakes.last?.peerCertificateSHA256 == loggers.fingerprints["logger-b"])
        if !requireClientCertificate {
            let (app, appSeen) = try await connectTLSClient(port: server.port, certificates.clientConfiguration())
            try await app.writeAndFlush(app.allocator.buffer(string: "token"))
            #expect(await waitUntil { appSeen.snapshot.received == Array("token".utf8) })
            try await app.close()
        }
        try await server.stop()
    }

    /// A resumed session brings no certificate, so the verify callback never runs: the check after
    /// the handshake must refuse a logger revoked since it got its ticket.
    @Test func resumedSessionOfARevokedLoggerIsRefused() async throws {
        let revoked = RevokedFingerprints()
        let server = try await server(requireClientCertificate: true, revoked)
        let context = try TLSContext(configuration: loggers.configuration("logger-a", trusting: certificates), role: .client)
        let (first, _) = try await echo("logger-a", "one", port: server.port, context: context)
        let session = try await first.eventLoop.submit {
            try first.pipeline.syncOperations.handler(type: TLSHandler.self).connection.session
        }.get()
        try await first.close()

        // Resumption works while the logger is in good standing.
        let (second, secondSeen) = try await echo("logger-a", "two", port: server.port, context: context, session: session)
        #expect(secondSeen.snapshot.handshakes.first?.resumed == true)
        #expect(server.observations.snapshot.handshakes.last?.resumed == true)
        #expect(server.observations.snapshot.handshakes.last?.peerCertificateSHA256 == loggers.fingerprints["logger-a"])
        let secondSession = try await second.eventLoop.submit {
            try second.pipeline.syncOperations.handler(type: TLSHandler.self).connection.session
        }.get()
        try await second.close()

        revoked.revoke(try #require(loggers.fingerprints["logger-a"]))
        let handshakesBefore = server.observations.snapshot.handshakes.count
        let receivedBefore = server.observations.snapshot.received
        let (third, thirdSeen) = try await connectTLSClient(
            port: server.port, context.configuration, context: context, resuming: secondSession)
        third.writeAndFlush(third.allocator.buffer(string: "three"), promise: nil)
        #expect(await waitUntil { thirdSeen.snapshot.closed })
        #expect(thirdSeen.snapshot.handshakes.first?.resumed == true)  // it was the resumption path
        #expect(thirdSeen.snapshot.received.isEmpty)
        #expect(await waitUntil { server.observations.tlsErrors.contains { $0.code == .certificateRevoked } })
        #expect(server.observations.snapshot.handshakes.count == handshakesBefore)
        #expect(server.observations.snapshot.received == receivedBefore)
        try await server.stop()
    }

    /// In memory: the verify callback's refusal surfaces as `.certificateRevoked` on both sides.
    @Test func verifyCallbackRefusalIsACertificateRevokedError() throws {
        let revoked = RevokedFingerprints()
        revoked.revoke(try #require(loggers.fingerprints["logger-b"]))
        var serverConfiguration = certificates.serverConfiguration(mutual: true)
        serverConfiguration.certificateRevoked = revoked.hook
        let serverContext = try TLSContext(configuration: serverConfiguration, role: .server)
        let clientContext = try TLSContext(configuration: loggers.configuration("logger-b", trusting: certificates), role: .client)
        let server = try TLSConnection(context: serverContext)
        let client = try TLSConnection(context: clientContext)
        var serverError: TLSError?
        do {
            try handshakeInMemory(client: client, server: server)
        } catch {
            serverError = error as? TLSError
        }
        #expect(serverError?.code == .certificateRevoked, "\(String(describing: serverError))")
        #expect(serverError?.reason.contains("certificate revoked") == true)
        #expect(!server.isHandshakeComplete)
        // The alert reaches the client (TLS 1.3: its own handshake is already done).
        client.receive(server.takeOutput())
        #expect(throws: TLSError.self) { _ = try client.readPlaintext() }

        // Without the hook the same certificate is accepted: it is the hook that refuses.
        let plainContext = try TLSContext(configuration: certificates.serverConfiguration(mutual: true), role: .server)
        try handshakeInMemory(client: TLSConnection(context: clientContext), server: TLSConnection(context: plainContext))
    }

    @Test func refusalCountsAsAFailedHandshake() throws {
        let revoked = RevokedFingerprints()
        revoked.revoke(try #require(loggers.fingerprints["logger-a"]))
        var serverConfiguration = certificates.serverConfiguration(mutual: true)
        serverConfiguration.certificateRevoked = revoked.hook
        let metrics = TestMetrics()
        let server = EmbeddedChannel()
        try server.pipeline.syncOperations.addHandler(TLSHandler(
            connection: try TLSConnection(context: TLSContext(configuration: serverConfiguration, role: .server)),
            handshakeTimeout: .seconds(5), metrics: TLSHandshakeMetrics(factory: metrics)))
        let client = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandler(
            TLSHandler(context: try TLSContext(configuration: loggers.configuration("logger-a", trusting: certificates), role: .client)))
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 443)
        try server.connect(to: address).wait()
        try client.connect(to: address).wait()
        var moved = true
        while moved {
            moved = false
            while let out = try client.readOutbound(as: ByteBuffer.self) {
                if server.isActive { _ = try? server.writeInbound(out) }
                moved = true
            }
            while let out = try server.readOutbound(as: ByteBuffer.self) {
                if client.isActive { _ = try? client.writeInbound(out) }
                moved = true
            }
        }
        #expect(!server.isActive)
        #expect(metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName, dimensions: [("result", "failed")]) == 1)
        #expect(metrics.counterTotal(label: TLSHandshakeMetrics.handshakesName) == 1)
        _ = try? client.finish()
    }
}
