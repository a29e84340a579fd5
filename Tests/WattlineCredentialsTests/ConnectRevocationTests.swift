import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineProtos
import WattlineTLS

/// The connect-time check as the server wires it: `TLSConfiguration.certificateRevoked` is the
/// registry's `RevokedCertificates.contains`. A real TLS handshake (in memory, OpenSSL on both
/// ends) with a certificate the device CA signed from a logger's CSR is accepted, and refused
/// once the credential is revoked.
@Suite(.serialized) struct ConnectRevocationTests {
    @Test func aRevokedLoggerCertificateIsRefusedAtTheHandshake() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-TLS")
            let keys = try LoggerKeyPair()
            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(keys.csrDER))
            guard case .certificateChain(let chain)? = issued.issued, let leaf = chain.certificatesDER.first else {
                Issue.record("expected a certificate chain")
                return
            }
            let directory = keys.directory
            try pem(leaf, label: "CERTIFICATE").write(toFile: directory + "/logger.pem", atomically: true, encoding: .utf8)
            try testCA.certificatePEM.write(toFile: directory + "/device-ca.pem", atomically: true, encoding: .utf8)
            try LoggerKeyPair.openssl(
                ["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
                 "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost", "-days", "1", "-out", "server.pem"],
                in: directory)
            let revoked = fixture.registry.revokedCertificates
            let server = try TLSContext(configuration: TLSConfiguration(
                certificateChainPath: directory + "/server.pem", privateKeyPath: directory + "/server.key",
                trustedCAPath: directory + "/device-ca.pem", requireClientCertificate: true,
                certificateRevoked: { revoked.contains($0) }), role: .server)
            let client = try TLSContext(configuration: TLSConfiguration(
                certificateChainPath: directory + "/logger.pem", privateKeyPath: keys.keyPath,
                trustedCAPath: directory + "/server.pem", serverName: "localhost"), role: .client)

            let accepted = try handshake(client: client, server: server)
            #expect(accepted.peerInfo.peerCertificateSHA256 == hex(try #require(issued.credential).certificateSHA256))
            // The fingerprint the server saw maps to the logger (what the access interceptor asks).
            let identity = try await fixture.registry.logger(certificateSHA256: try #require(accepted.peerInfo.peerCertificateSHA256))
            #expect(identity?.loggerID == UUID(bytes: logger.loggerID)?.text)

            var revoke = TenancyV1.RevokeLoggerCredentialRequest()
            revoke.tenantID = tenant.bytes
            revoke.credentialID = try #require(issued.credential).credentialID
            _ = try await fixture.loggers.revokeCredential(revoke, technician(tenant))
            var refusal: TLSError?
            do {
                _ = try handshake(client: client, server: server)
            } catch let error as TLSError {
                refusal = error
            }
            #expect(refusal?.code == .certificateRevoked, "\(String(describing: refusal))")
        }
    }

    /// Another node learns a revocation through its periodic refresh.
    @Test func anotherNodeLearnsRevocationsByRefreshing() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-REFRESH")
            let credential = try #require(try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(try makeCSR())).credential)
            let fingerprint = hex(credential.certificateSHA256)
            let otherNode = RevokedCertificates(store: fixture.store)
            let refresher = Task { await otherNode.keepRefreshed(every: .milliseconds(50)) }
            defer { refresher.cancel() }
            try await Task.sleep(for: .milliseconds(150))
            #expect(!otherNode.contains(fingerprint))
            var revoke = TenancyV1.RevokeLoggerCredentialRequest()
            revoke.tenantID = tenant.bytes
            revoke.credentialID = credential.credentialID
            _ = try await fixture.loggers.revokeCredential(revoke, technician(tenant))
            var learned = false
            for _ in 0..<100 where !learned {
                try await Task.sleep(for: .milliseconds(20))
                learned = otherNode.contains(fingerprint)
            }
            #expect(learned)
        }
    }

    /// Runs both ends of a handshake against each other in memory; returns the server's connection.
    func handshake(client: TLSContext, server: TLSContext) throws -> TLSConnection {
        let clientSide = try TLSConnection(context: client)
        let serverSide = try TLSConnection(context: server)
        for _ in 0..<20 {
            let clientDone = try clientSide.handshake()
            if clientSide.hasOutput { serverSide.receive(clientSide.takeOutput()) }
            let serverDone = try serverSide.handshake()
            if serverSide.hasOutput { clientSide.receive(serverSide.takeOutput()) }
            if clientDone && serverDone { return serverSide }
        }
        throw TLSError(.handshakeTimedOut, "the in-memory handshake did not finish")
    }
}
