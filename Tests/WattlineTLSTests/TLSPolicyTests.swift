import Testing
import WattlineTestSupport
@testable import WattlineTLS

/// The policy as seen by an independent client: `openssl s_client` against a NIOPosix server using TLSHandler.
@Suite struct TLSPolicyTests {
    let certificates = TestCertificates.shared

    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let arguments: [String]
        let accepted: Bool
        let expected: String?
        var rsaServer = false
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        // SECLEVEL=0 so s_client itself is willing to speak TLS 1.1: the refusal must come from our server.
        Case(name: "TLS 1.1 refused", arguments: ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"], accepted: false, expected: nil),
        // Against an RSA certificate, so plain-RSA key exchange would be possible if the cipher list allowed it.
        Case(name: "TLS 1.2 non-AEAD RSA refused", arguments: ["-tls1_2", "-cipher", "AES128-SHA256"], accepted: false,
             expected: nil, rsaServer: true),
        Case(name: "TLS 1.2 ECDHE CBC refused", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-SHA256"], accepted: false,
             expected: nil),
        Case(name: "TLS 1.2 ECDHE-RSA-AES128-GCM accepted (RSA cert)", arguments: ["-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"],
             accepted: true, expected: "Cipher is ECDHE-RSA-AES128-GCM-SHA256", rsaServer: true),
        Case(name: "TLS 1.2 ECDHE-ECDSA-AES128-GCM accepted", arguments: ["-tls1_2", "-cipher", "ECDHE-ECDSA-AES128-GCM-SHA256"],
             accepted: true, expected: "Cipher is ECDHE-ECDSA-AES128-GCM-SHA256"),
        Case(name: "TLS 1.3 accepted", arguments: ["-tls1_3"], accepted: true, expected: "New, TLSv1.3, Cipher is TLS_"),
    ]

    @Test(arguments: cases)
    func sClient(_ policyCase: Case) async throws {
        let server = try await TestServer.start(certificates.serverConfiguration(rsa: policyCase.rsaServer))
        let result = runSynchronously(
            ["/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(server.port)", "-alpn", "wattline/1",
             "-servername", "localhost", "-CAfile", certificates.caPath, "-verify_return_error"] + policyCase.arguments)
        // For refusals, the server itself must have rejected the handshake (not s_client giving up on its own).
        let serverRejected = await waitUntil(timeout: .seconds(10)) {
            server.observations.tlsErrors.contains { $0.code == .handshakeFailed }
        }
        try await server.stop()
        #expect(result.status != 124, "s_client timed out")
        if policyCase.accepted {
            #expect(result.status == 0, "\(result.output)")
            #expect(!serverRejected)
            #expect(result.output.contains("ALPN protocol: wattline/1"), "\(result.output)")
            #expect(result.output.contains("Verify return code: 0 (ok)"), "\(result.output)")
            if let expected = policyCase.expected { #expect(result.output.contains(expected), "\(result.output)") }
        } else {
            #expect(result.status != 0, "\(result.output)")
            #expect(result.output.contains("alert") || result.output.contains("no protocols available"), "\(result.output)")
            #expect(!result.output.contains("New, TLSv1"))
            #expect(serverRejected, "\(server.observations.tlsErrors)")
            #expect(result.output.contains("Cipher is (NONE)"), "\(result.output)")
        }
    }
}
