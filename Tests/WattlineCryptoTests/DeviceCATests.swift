import Foundation
import Testing
import WattlineTestSupport
import WattlineCrypto

/// The device CA against the openssl CLI: CSRs made by openssl are issued, and openssl verifies
/// and reads what the CA signed.
@Suite struct DeviceCATests {
    static let loggerID = "7c9e6679-7425-40de-944b-e07fc1f90ae7"
    static let siteID = "16fd2706-8baf-433b-82eb-8c7fada847da"
    static let tenantID = "0f8fad5b-d9cb-469f-a165-70867728950e"

    /// One CA per key type for the whole suite (key generation is cheap, but the CLI is not).
    static let p256CA = try! DeviceCA.generate(commonName: "Wattline device CA (test)")
    static let ed25519CA = try! DeviceCA.generate(commonName: "Wattline device CA (Ed25519 test)", keyType: .ed25519)

    static func ca(_ type: CertificateKeyType) -> GeneratedDeviceCA { type == .p256 ? p256CA : ed25519CA }

    /// Makes `<name>.key` and `<name>.csr` (PEM) with the openssl CLI.
    func makeCSR(_ workspace: OpenSSLWorkspace, _ name: String, key: CertificateKeyType, extra: [String] = []) throws {
        switch key {
        case .p256: try workspace.mustRun("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "\(name).key")
        case .ed25519: try workspace.mustRun("genpkey", "-algorithm", "ED25519", "-out", "\(name).key")
        }
        var arguments = ["req", "-new", "-key", "\(name).key", "-subj", "/CN=\(name)", "-out", "\(name).csr"]
        arguments += extra
        let result = runSynchronously(["/usr/bin/openssl"] + arguments, in: workspace.path)
        guard result.status == 0 else { throw WorkspaceError(message: "openssl req: \(result.output)") }
    }

    func issue(
        _ ca: DeviceCA, csrPEM: String, loggerID: String = loggerID, validity: Duration = LoggerCertificateProfile.defaultValidity,
        now: Int64 = UnixTime.now()
    ) throws -> IssuedCertificate {
        try ca.issue(csrPEM: csrPEM, loggerID: loggerID, siteID: Self.siteID, tenantID: Self.tenantID, validity: validity, now: now)
    }

    // MARK: Issuing

    @Test func issuesOpenSSLCSRWithTheCAProfileOnly() throws {
        let workspace = try OpenSSLWorkspace()
        let generated = Self.p256CA
        try workspace.write("ca.pem", generated.certificatePEM)
        // The CSR asks for another subject, CA:TRUE, serverAuth and names of its own: all ignored.
        try makeCSR(workspace, "logger", key: .p256, extra: [
            "-subj", "/O=Attacker/CN=evil.example",
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "extendedKeyUsage=serverAuth",
            "-addext", "subjectAltName=DNS:evil.example,URI:urn:wattline:tenant:00000000-0000-4000-8000-000000000000",
        ])
        let now = UnixTime.now()
        let issued = try issue(generated.ca, csrPEM: try workspace.read("logger.csr"), now: now)
        try workspace.write("logger.pem", issued.certificatePEM)

        // openssl accepts it as a TLS client certificate under the CA (the check libssl makes on a server).
        let verified = workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "-x509_strict", "logger.pem")
        #expect(verified.status == 0, "\(verified.output)")
        #expect(verified.output.contains("logger.pem: OK"))
        // …and not as a server certificate.
        #expect(workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslserver", "logger.pem").status != 0)

        let text = squashed(try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-text"))
        #expect(text.contains("Version: 3 (0x2)"))
        #expect(text.contains("Subject: O = Wattline device, CN = logger-\(Self.loggerID)"))
        #expect(text.contains("Issuer: O = Wattline, CN = Wattline device CA (test)"))
        #expect(text.contains(
            "X509v3 Subject Alternative Name: URI:urn:wattline:logger:\(Self.loggerID), "
                + "URI:urn:wattline:site:\(Self.siteID), URI:urn:wattline:tenant:\(Self.tenantID)"))
        #expect(text.contains("X509v3 Basic Constraints: critical CA:FALSE"))
        #expect(text.contains("X509v3 Key Usage: critical Digital Signature X509v3"))
        #expect(text.contains("X509v3 Extended Key Usage: TLS Web Client Authentication X509v3"))
        #expect(text.contains("X509v3 Subject Key Identifier:"))
        #expect(text.contains("Signature Algorithm: ecdsa-with-SHA256"))
        for absent in ["evil", "Attacker", "DNS:", "00000000-0000", "Server Authentication", "CA:TRUE"] {
            #expect(!text.contains(absent), "certificate text contains \(absent)")
        }
        // Exactly the six extensions of the profile.
        #expect(text.components(separatedBy: "X509v3 ").count - 1 == 7)  // six plus the "X509v3 extensions:" heading
        // authorityKeyIdentifier is the CA's subjectKeyIdentifier.
        let caKeyID = squashed(try workspace.mustRun("x509", "-in", "ca.pem", "-noout", "-ext", "subjectKeyIdentifier"))
            .replacingOccurrences(of: "X509v3 Subject Key Identifier: ", with: "")
        #expect(caKeyID.count == 59)
        #expect(text.contains("X509v3 Authority Key Identifier: \(caKeyID)") || text.contains("keyid:\(caKeyID)"))

        // The key is the CSR's.
        #expect(try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-pubkey")
            == workspace.mustRun("req", "-in", "logger.csr", "-noout", "-pubkey"))

        // Fingerprint, serial and DER as openssl sees them.
        let fingerprint = normalisedFingerprint(try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-fingerprint", "-sha256"))
        #expect(fingerprint == issued.sha256Fingerprint)
        #expect(fingerprint.count == 64)
        let serial = try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-serial")
        #expect(serial.trimmingCharacters(in: .whitespacesAndNewlines) == "serial=" + issued.serialHex.uppercased())
        #expect(issued.serialHex.count == 32 && issued.serialHex.allSatisfy { $0.isHexDigit && !$0.isUppercase })
        try workspace.mustRun("x509", "-in", "logger.pem", "-outform", "DER", "-out", "logger.der")
        #expect(try workspace.readBytes("logger.der") == issued.certificateDER)

        // Validity: notBefore 5 minutes back, notAfter 397 days on.
        #expect(issued.notBefore == now - 300)
        #expect(issued.notAfter == now + 397 * 86_400)
        let dates = try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-startdate", "-enddate")
        #expect(squashed(dates).contains("notBefore=\(opensslDate(issued.notBefore))"), "\(dates)")
        #expect(squashed(dates).contains("notAfter=\(opensslDate(issued.notAfter))"), "\(dates)")
    }

    @Test(arguments: CertificateKeyType.allCases, CertificateKeyType.allCases)
    func everyKeyTypeUnderEveryCAKeyType(caKey: CertificateKeyType, loggerKey: CertificateKeyType) throws {
        let workspace = try OpenSSLWorkspace()
        let generated = Self.ca(caKey)
        #expect(generated.ca.keyType == caKey)
        try workspace.write("ca.pem", generated.certificatePEM)
        try makeCSR(workspace, "logger", key: loggerKey)
        // The DER form, as the contract carries it.
        try workspace.mustRun("req", "-in", "logger.csr", "-outform", "DER", "-out", "logger.csr.der")
        let issued = try generated.ca.issue(
            csrDER: try workspace.readBytes("logger.csr.der"), loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
        try workspace.write("logger.pem", issued.certificatePEM)
        let verified = workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "-x509_strict", "logger.pem")
        #expect(verified.status == 0, "\(verified.output)")
        let text = squashed(try workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-text"))
        #expect(text.contains("Signature Algorithm: \(caKey == .p256 ? "ecdsa-with-SHA256" : "ED25519")"))
        #expect(text.contains("Public Key Algorithm: \(loggerKey == .p256 ? "id-ecPublicKey" : "ED25519")"))
        // The CA itself: self-signed, CA:TRUE with pathlen 0, keyCertSign.
        let caText = squashed(try workspace.mustRun("x509", "-in", "ca.pem", "-noout", "-text"))
        #expect(caText.contains("X509v3 Basic Constraints: critical CA:TRUE, pathlen:0"))
        #expect(caText.contains("X509v3 Key Usage: critical Certificate Sign, CRL Sign"))
        #expect(workspace.openssl("verify", "-CAfile", "ca.pem", "-x509_strict", "ca.pem").status == 0)
    }

    @Test func everyIssuanceHasItsOwnSerialAndFingerprint() throws {
        let workspace = try OpenSSLWorkspace()
        try makeCSR(workspace, "logger", key: .p256)
        let csr = try workspace.read("logger.csr")
        let issued = try (0..<20).map { _ in try issue(Self.p256CA.ca, csrPEM: csr) }
        #expect(Set(issued.map(\.serialHex)).count == 20)
        #expect(Set(issued.map(\.sha256Fingerprint)).count == 20)
        #expect(issued.allSatisfy { $0.serialHex.count == 32 && !$0.serialHex.hasPrefix("00") })
    }

    /// The real thing for libssl: an `openssl s_server` that requires a client certificate signed
    /// by the device CA accepts the issued one in a TLS handshake, and refuses one from another CA.
    /// (`-rev`: unlike its default mode, s_server then does not stop at the end of its stdin.)
    @Test func opensslServerAcceptsTheCertificateForClientAuthentication() throws {
        let workspace = try OpenSSLWorkspace()
        try workspace.write("ca.pem", Self.p256CA.certificatePEM)
        try workspace.mustRun(
            "req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "server.key",
            "-subj", "/CN=localhost", "-days", "1", "-out", "server.pem")
        for (name, generated) in [("good", Self.p256CA), ("foreign", Self.ed25519CA)] {
            let issued = try generated.ca.issueWithNewKey(
                loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID, keyType: .ed25519)
            try workspace.write("\(name).pem", issued.certificate.certificatePEM)
            try workspace.write("\(name).key", issued.privateKeyPEM)
            let script = """
                rm -f s.sock
                timeout 8 openssl s_server -unix s.sock -naccept 1 -cert server.pem -key server.key \\
                    -Verify 1 -verify_return_error -CAfile ca.pem -rev > server-\(name).log 2>&1 &
                i=0; while [ ! -S s.sock ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done
                echo hello-from-logger | openssl s_client -unix s.sock -cert \(name).pem -key \(name).key -quiet -no_ign_eof \\
                    > client-\(name).log 2>&1
                wait
                """
            _ = runSynchronously(["/bin/sh", "-c", script], in: workspace.path)
            let server = try workspace.read("server-\(name).log")
            if name == "good" {
                #expect(server.contains("CONNECTION ESTABLISHED"), "\(server)")
                #expect(server.contains("Peer certificate: O = Wattline device, CN = logger-\(Self.loggerID)"), "\(server)")
                #expect(server.lowercased().contains("signature type: ed25519"), "\(server)")
                #expect(server.contains("Verification: OK"), "\(server)")
            } else {
                #expect(!server.contains("CONNECTION ESTABLISHED"), "\(server)")
                #expect(server.contains("verify error"), "\(server)")
            }
        }
    }

    @Test func concurrentIssuanceFromOneCA() async throws {
        let workspace = try OpenSSLWorkspace()
        try makeCSR(workspace, "logger", key: .p256)
        let csr = try workspace.read("logger.csr")
        let ca = Self.ed25519CA.ca
        let fingerprints = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<8 {
                group.addTask {
                    try (0..<25).map { _ in
                        try ca.issue(csrPEM: csr, loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
                            .sha256Fingerprint
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(Set(fingerprints).count == 200)
    }

    @Test func issueWithNewKeyReturnsAMatchingPrivateKey() throws {
        for keyType in CertificateKeyType.allCases {
            let workspace = try OpenSSLWorkspace()
            try workspace.write("ca.pem", Self.p256CA.certificatePEM)
            let issued = try Self.p256CA.ca.issueWithNewKey(
                loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID, keyType: keyType)
            try workspace.write("logger.pem", issued.certificate.certificatePEM)
            try workspace.write("logger.key", issued.privateKeyPEM)
            #expect(issued.privateKeyPEM.hasPrefix("-----BEGIN PRIVATE KEY-----"))
            #expect(workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "logger.pem").status == 0)
            #expect(try workspace.mustRun("pkey", "-in", "logger.key", "-pubout")
                == workspace.mustRun("x509", "-in", "logger.pem", "-noout", "-pubkey"))
            // Descriptions never show the key.
            #expect(!"\(issued)".contains("PRIVATE"))
            #expect(!String(reflecting: issued).contains("PRIVATE"))
        }
        #expect(!"\(Self.p256CA)".contains("PRIVATE"))
    }

    @Test func validityIsBoundedAndNeverOutlivesTheCA() throws {
        let workspace = try OpenSSLWorkspace()
        try makeCSR(workspace, "logger", key: .p256)
        let csr = try workspace.read("logger.csr")
        let ca = Self.p256CA.ca
        let maximum = try issue(ca, csrPEM: csr, validity: .seconds(825 * 86_400))
        #expect(maximum.notAfter - maximum.notBefore == 825 * 86_400 + 300)
        for validity: Duration in [.seconds(826 * 86_400), .zero, .seconds(-1), .milliseconds(1500)] {
            let error = cryptoError { _ = try issue(ca, csrPEM: csr, validity: validity) }
            #expect(error?.code == .invalidInput)
        }
        // A CA valid for 2 days cannot sign for 397.
        let shortLived = try DeviceCA.generate(commonName: "short", validity: .seconds(2 * 86_400))
        let error = cryptoError { _ = try issue(shortLived.ca, csrPEM: csr) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("expires") == true)
        #expect(try issue(shortLived.ca, csrPEM: csr, validity: .seconds(86_400)).notAfter <= shortLived.ca.notAfter)
    }

    @Test func idsMustBeCanonicalUUIDs() throws {
        let workspace = try OpenSSLWorkspace()
        try makeCSR(workspace, "logger", key: .p256)
        let csr = try workspace.read("logger.csr")
        for bad in [
            "7C9E6679-7425-40DE-944B-E07FC1F90AE7", "not-a-uuid", "",
            // Would add a SAN entry (or a config section) if spliced in unchecked.
            "7c9e6679-7425-40de-944b-e07fc1f90ae7,URI:urn:wattline:tenant:x", "@section",
        ] {
            #expect(cryptoError { _ = try issue(Self.p256CA.ca, csrPEM: csr, loggerID: bad) }?.code == .invalidInput)
            #expect(cryptoError {
                _ = try Self.p256CA.ca.issue(csrPEM: csr, loggerID: Self.loggerID, siteID: bad, tenantID: Self.tenantID)
            }?.code == .invalidInput)
            #expect(cryptoError {
                _ = try Self.p256CA.ca.issue(csrPEM: csr, loggerID: Self.loggerID, siteID: Self.siteID, tenantID: bad)
            }?.code == .invalidInput)
        }
    }

    // MARK: Refused CSRs

    @Test func brokenSelfSignatureIsRefused() throws {
        for keyType in CertificateKeyType.allCases {
            let workspace = try OpenSSLWorkspace()
            try makeCSR(workspace, "tamper-me", key: keyType)
            try workspace.mustRun("req", "-in", "tamper-me.csr", "-outform", "DER", "-out", "csr.der")
            let der = try workspace.readBytes("csr.der")
            // Change one byte of the signed subject ("tamper-me" → "tamper-mf"), and separately one of the signature.
            let name = Array("tamper-me".utf8)
            let at = try #require((0...(der.count - name.count)).first { Array(der[$0..<$0 + name.count]) == name })
            var subjectChanged = der
            subjectChanged[at + name.count - 1] ^= 0x03
            var signatureChanged = der
            signatureChanged[der.count - 2] ^= 0x01
            for tampered in [subjectChanged, signatureChanged] {
                for error in [
                    cryptoError {
                        _ = try Self.p256CA.ca.issue(csrDER: tampered, loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
                    },
                    cryptoError { _ = try issue(Self.p256CA.ca, csrPEM: pem(tampered, label: "CERTIFICATE REQUEST")) },
                ] {
                    #expect(error?.code == .authenticationFailed, "\(keyType): \(String(describing: error))")
                }
            }
            // Untouched, the same bytes are accepted (the tampering, not the re-encoding, is refused).
            _ = try issue(Self.p256CA.ca, csrPEM: pem(der, label: "CERTIFICATE REQUEST"))
        }
    }

    @Test func keysOtherThanP256AndEd25519AreRefused() throws {
        let workspace = try OpenSSLWorkspace()
        let cases: [(name: String, generate: [String], expected: String)] = [
            ("rsa1024", ["genrsa", "-out", "rsa1024.key", "1024"], "1024-bit RSA"),
            ("rsa2048", ["genrsa", "-out", "rsa2048.key", "2048"], "2048-bit RSA"),
            ("p384", ["ecparam", "-name", "secp384r1", "-genkey", "-noout", "-out", "p384.key"], "secp384r1"),
            ("k256", ["ecparam", "-name", "secp256k1", "-genkey", "-noout", "-out", "k256.key"], "secp256k1"),
            ("ed448", ["genpkey", "-algorithm", "ED448", "-out", "ed448.key"], "unsupported key type"),
        ]
        for (name, generate, expected) in cases {
            let generated = runSynchronously(["/usr/bin/openssl"] + generate, in: workspace.path)
            #expect(generated.status == 0, "\(generated.output)")
            try workspace.mustRun("req", "-new", "-key", "\(name).key", "-subj", "/CN=\(name)", "-out", "\(name).csr")
            let error = cryptoError { _ = try issue(Self.p256CA.ca, csrPEM: try workspace.read("\(name).csr")) }
            #expect(error?.code == .invalidInput, "\(name)")
            #expect(error?.message.contains(expected) == true, "\(name): \(String(describing: error))")
        }
        // A P-256 key is fine, but not a SHA-1 signature over the request.
        try makeCSR(workspace, "sha1", key: .p256, extra: ["-sha1"])
        let error = cryptoError { _ = try issue(Self.p256CA.ca, csrPEM: try workspace.read("sha1.csr")) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("ecdsa-with-SHA1") == true, "\(String(describing: error))")
    }

    @Test func malformedAndOversizedInputIsRefused() throws {
        let workspace = try OpenSSLWorkspace()
        try makeCSR(workspace, "logger", key: .p256)
        let csr = try workspace.read("logger.csr")
        try workspace.mustRun("req", "-in", "logger.csr", "-outform", "DER", "-out", "logger.der")
        let der = try workspace.readBytes("logger.der")
        let ca = Self.p256CA.ca

        let badPEMs = [
            "", "garbage", String(repeating: "\u{0}", count: 100),
            "-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n",
            "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n",
            String(csr.prefix(csr.count / 2)),  // truncated
            csr + "trailing text\n",
            csr + csr,  // a second request
            Self.p256CA.certificatePEM,  // a certificate, not a request
        ]
        for input in badPEMs {
            #expect(cryptoError { _ = try issue(ca, csrPEM: input) }?.code == .invalidInput, "\(input.prefix(40))")
        }
        let badDERs: [[UInt8]] = [
            [], [0x30], Array(repeating: 0xFF, count: 300), Array(der.prefix(der.count - 1)), der + [0x00],
            Array(csr.utf8),  // PEM where DER is expected
        ]
        for input in badDERs {
            let error = cryptoError {
                _ = try ca.issue(csrDER: input, loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
            }
            #expect(error?.code == .invalidInput, "\(input.prefix(8))")
        }

        // Oversized: refused for its size before any parsing, even when a valid CSR is inside.
        let padded = csr + String(repeating: " ", count: 16_385 - csr.utf8.count)
        let error = cryptoError { _ = try issue(ca, csrPEM: padded) }
        #expect(error?.code == .invalidInput)
        #expect(error?.message.contains("16385 bytes") == true, "\(String(describing: error))")
        let bigDER = cryptoError {
            _ = try ca.issue(csrDER: der + Array(repeating: 0, count: 16_385 - der.count),
                             loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
        }
        #expect(bigDER?.message.contains("at most 16384") == true)
        // Exactly at the bound, trailing whitespace is fine.
        _ = try issue(ca, csrPEM: csr + String(repeating: "\n", count: 16_384 - csr.utf8.count))
    }

    // MARK: Loading a CA

    @Test func loadsWhatGenerateReturned() throws {
        let workspace = try OpenSSLWorkspace()
        let generated = try DeviceCA.generate(commonName: "reloaded", keyType: .ed25519)
        let loaded = try DeviceCA(certificatePEM: generated.certificatePEM, privateKeyPEM: generated.privateKeyPEM)
        #expect(loaded.sha256Fingerprint == generated.ca.sha256Fingerprint)
        #expect(loaded.keyType == .ed25519)
        #expect(loaded.notAfter == generated.ca.notAfter)
        try workspace.write("ca.pem", generated.certificatePEM)
        try makeCSR(workspace, "logger", key: .p256)
        try workspace.write("logger.pem", try issue(loaded, csrPEM: try workspace.read("logger.csr")).certificatePEM)
        #expect(workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "logger.pem").status == 0)
        #expect(normalisedFingerprint(try workspace.mustRun("x509", "-in", "ca.pem", "-noout", "-fingerprint", "-sha256"))
            == loaded.sha256Fingerprint)
    }

    @Test func loadsACAMadeByTheOpenSSLCLI() throws {
        // As Scripts/lib/dev-certs makes its CA: a traditional "EC PRIVATE KEY" and req -x509.
        let workspace = try OpenSSLWorkspace()
        try workspace.mustRun("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key")
        try workspace.mustRun(
            "req", "-x509", "-new", "-key", "ca.key", "-sha256", "-days", "3650", "-subj", "/O=Wattline development/CN=Dev CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-addext", "subjectKeyIdentifier=hash", "-out", "ca.pem")
        #expect(try workspace.read("ca.key").contains("BEGIN EC PRIVATE KEY"))
        let ca = try DeviceCA(certificatePEM: try workspace.read("ca.pem"), privateKeyPEM: try workspace.read("ca.key"))
        try makeCSR(workspace, "logger", key: .ed25519)
        try workspace.write("logger.pem", try issue(ca, csrPEM: try workspace.read("logger.csr")).certificatePEM)
        let verified = workspace.openssl("verify", "-CAfile", "ca.pem", "-purpose", "sslclient", "-x509_strict", "logger.pem")
        #expect(verified.status == 0, "\(verified.output)")
    }

    @Test func refusesUnusableCAMaterial() throws {
        let workspace = try OpenSSLWorkspace()
        let one = Self.p256CA, other = Self.ed25519CA
        func loadError(_ certificate: String, _ key: String) -> CryptoError? {
            cryptoError { _ = try DeviceCA(certificatePEM: certificate, privateKeyPEM: key) }
        }
        #expect(loadError(one.certificatePEM, other.privateKeyPEM)?.message.contains("does not match") == true)
        // A leaf with its own key is not a CA.
        let leaf = try one.ca.issueWithNewKey(loggerID: Self.loggerID, siteID: Self.siteID, tenantID: Self.tenantID)
        #expect(loadError(leaf.certificate.certificatePEM, leaf.privateKeyPEM)?.message.contains("CA:TRUE") == true)
        // An encrypted key fails instead of prompting for a passphrase.
        try workspace.write("ca.key", one.privateKeyPEM)
        try workspace.mustRun("pkcs8", "-topk8", "-in", "ca.key", "-passout", "pass:secret", "-out", "ca.enc.key")
        #expect(loadError(one.certificatePEM, try workspace.read("ca.enc.key"))?.code == .invalidInput)
        // An RSA CA key is refused for its type.
        try workspace.mustRun("genrsa", "-out", "rsa.key", "2048")
        try workspace.mustRun(
            "req", "-x509", "-new", "-key", "rsa.key", "-subj", "/CN=RSA CA", "-addext", "basicConstraints=critical,CA:TRUE",
            "-out", "rsa.pem")
        #expect(loadError(try workspace.read("rsa.pem"), try workspace.read("rsa.key"))?.message.contains("RSA") == true)
        #expect(loadError("garbage", one.privateKeyPEM)?.code == .invalidInput)
        #expect(loadError(one.certificatePEM, "garbage")?.code == .invalidInput)
        #expect(loadError(String(repeating: "A", count: 70_000), one.privateKeyPEM)?.code == .invalidInput)
        #expect(cryptoError { _ = try DeviceCA.generate(commonName: "") }?.code == .invalidInput)
        #expect(cryptoError { _ = try DeviceCA.generate(commonName: "bad\nname") }?.code == .invalidInput)
    }
}

/// "Nov 29 10:00:00 2026 GMT", as openssl prints a time (whitespace squashed).
private func opensslDate(_ seconds: Int64) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "MMM d HH:mm:ss yyyy"
    return formatter.string(from: Date(timeIntervalSince1970: TimeInterval(seconds))) + " GMT"
}
