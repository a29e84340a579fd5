import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

@Suite(.serialized) struct LoggerCredentialTests {
    @Test func certificateFromCSRMapsToExactlyItsLoggerUntilRevoked() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-0001")
            #expect(logger.state == .pending)
            #expect(logger.serialNumber == "SN-0001" && logger.model == "WL-100" && logger.name == "Boiler room")
            #expect(logger.tenantID == tenant.bytes && logger.siteID == site.bytes)

            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(try makeCSR()))
            let credential = try #require(issued.credential)
            guard case .certificateChain(let chain)? = issued.issued else {
                Issue.record("expected a certificate chain")
                return
            }
            #expect(chain.certificatesDER.count == 1)
            let der = try #require(chain.certificatesDER.first)
            let fingerprint = try sha256Hex(der)
            #expect(credential.kind == .certificate)
            #expect(hex(credential.certificateSHA256) == fingerprint)
            #expect(credential.secretPrefix.isEmpty)
            // Default validity: 365 days (the contract's default), from now.
            let yearMs: Int64 = 365 * 86_400_000
            #expect(abs(credential.expiresAtMs - (credential.createdAtMs + yearMs)) < 10_000)

            let identity = try #require(try await fixture.registry.logger(certificateSHA256: fingerprint))
            let loggerID = try #require(UUID(bytes: logger.loggerID))
            let credentialID = try #require(UUID(bytes: credential.credentialID))
            #expect(identity == LoggerIdentity(loggerID: loggerID.text, siteID: site.text, tenantID: tenant.text, credentialID: credentialID.text))
            // Another node (no cache) answers the same from the database.
            let otherNode = CredentialRegistry(store: fixture.store)
            #expect(try await otherNode.logger(certificateSHA256: fingerprint) == identity)
            #expect(try await fixture.getLogger(tenant, logger.loggerID).state == .active)
            // Unknown and malformed fingerprints belong to nobody.
            #expect(try await fixture.registry.logger(certificateSHA256: String(repeating: "ab", count: 32)) == nil)
            #expect(try await fixture.registry.logger(certificateSHA256: fingerprint.uppercased()) == nil)
            #expect(!fixture.registry.revokedCertificates.contains(fingerprint))

            var revoke = TenancyV1.RevokeLoggerCredentialRequest()
            revoke.tenantID = tenant.bytes
            revoke.credentialID = credential.credentialID
            revoke.reason = "lost"
            let revoked = try #require(try await fixture.loggers.revokeCredential(revoke, technician(tenant)).credential)
            #expect(revoked.revokedAtMs > 0)
            #expect(try await fixture.registry.logger(certificateSHA256: fingerprint) == nil)
            #expect(fixture.registry.revokedCertificates.contains(fingerprint))
            // Revoking twice is OK and keeps the first time.
            let again = try #require(try await fixture.loggers.revokeCredential(revoke, technician(tenant)).credential)
            #expect(again.revokedAtMs == revoked.revokedAtMs)
            // Another node learns it from the database, both the lookup and the connect-time set.
            let fresh = CredentialRegistry(store: fixture.store)
            #expect(try await fresh.logger(certificateSHA256: fingerprint) == nil)
            #expect(!fresh.revokedCertificates.contains(fingerprint))
            try await fresh.revokedCertificates.refresh()
            #expect(fresh.revokedCertificates.contains(fingerprint))
            #expect(fresh.revokedCertificates.count == 1)
            // Without a usable credential the logger is PENDING again.
            #expect(try await fixture.getLogger(tenant, logger.loggerID).state == .pending)
        }
    }

    @Test func badCSRsAreInvalidArguments() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-CSR")
            var csr = try makeCSR()
            csr[csr.count - 5] ^= 0x01  // inside the signature
            for material: TenancyV1.CredentialMaterial.Material in [.csrDER([0x30, 0x03, 0x02, 0x01, 0x00]), .csrDER(csr)] {
                let refused = await failure { _ = try await fixture.provision(tenant, logger: logger.loggerID, material) }
                #expect(refused?.code == 3, "\(String(describing: refused))")
            }
            let tooLong = await failure { _ = try await fixture.provision(tenant, logger: logger.loggerID, .apiSecret(.init()), validFor: 826 * 86_400) }
            #expect(tooLong?.code == 3)
            var unset = TenancyV1.ProvisionLoggerCredentialRequest()
            unset.tenantID = tenant.bytes
            unset.loggerID = logger.loggerID
            let noMaterial = await failure { _ = try await fixture.loggers.provisionCredential(unset, technician(tenant)) }
            #expect(noMaterial?.code == 3)
            // An Ed25519 key is accepted too.
            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(try makeCSR(ed25519: true)))
            #expect(issued.credential?.kind == .certificate)
        }
    }

    @Test func apiSecretIsShownOnceAndRotatesWithOverlap() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-0002")
            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .apiSecret(.init()), validFor: 3_600)
            guard case .apiSecret(let secret)? = issued.issued else {
                Issue.record("expected an API secret")
                return
            }
            let credential = try #require(issued.credential)
            #expect(secret.hasPrefix("wlls_") && secret.utf8.count == 48)
            #expect(Base64URLCheck.isBase64URL(String(secret.dropFirst(5))))
            #expect(credential.kind == .apiSecret && credential.certificateSHA256.isEmpty)
            #expect(credential.secretPrefix == String(secret.prefix(11)))
            #expect(abs(credential.expiresAtMs - (credential.createdAtMs + 3_600_000)) < 1_000)
            let identity = try #require(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(secret.utf8))))
            #expect(identity.credentialID == UUID(bytes: credential.credentialID)?.text)
            #expect(identity.loggerID == UUID(bytes: logger.loggerID)?.text && identity.siteID == site.text)
            // The logger has not seen its secret's use recorded twice: last_used_at is set now.
            let afterUse = try await fixture.getLogger(tenant, logger.loggerID)
            #expect(afterUse.credentials.first?.lastUsedAtMs ?? 0 > 0)
            #expect(afterUse.lastSeenAtMs > 0)
            #expect(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array("wlls_nope".utf8))) == nil)

            // The logger itself renews, authenticated with exactly this credential; 2 s of overlap.
            var rotate = TenancyV1.RotateLoggerCredentialRequest()
            rotate.tenantID = tenant.bytes
            rotate.credentialID = credential.credentialID
            rotate.material = TenancyV1.CredentialMaterial(.apiSecret(.init()))
            rotate.overlapSeconds = 2
            let rotated = try await fixture.loggers.rotateCredential(rotate, context(tenant, loggerPrincipal(identity)))
            let replaced = try #require(rotated.replaced)
            let successor = try #require(rotated.issued?.credential)
            guard case .apiSecret(let newSecret)? = rotated.issued?.issued else {
                Issue.record("expected a new API secret")
                return
            }
            #expect(newSecret != secret)
            #expect(replaced.replacedByCredentialID == successor.credentialID)
            #expect(replaced.expiresAtMs == successor.createdAtMs + 2_000)
            let newIdentity = try #require(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(newSecret.utf8))))
            #expect(newIdentity.loggerID == identity.loggerID && newIdentity.credentialID == UUID(bytes: successor.credentialID)?.text)
            // During the overlap both work; rotating the replaced one again is refused.
            #expect(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(secret.utf8))) == identity)
            let twice = await failure { _ = try await fixture.loggers.rotateCredential(rotate, technician(tenant)) }
            #expect(twice?.code == 9)
            // A logger cannot rotate a credential it did not authenticate with.
            var other = rotate
            other.credentialID = successor.credentialID
            let foreign = await failure { _ = try await fixture.loggers.rotateCredential(other, context(tenant, loggerPrincipal(identity))) }
            #expect(foreign?.code == 7)
            // After the overlap the old secret is refused (cached answers end with the credential).
            try await Task.sleep(for: .milliseconds(2_300))
            #expect(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(secret.utf8))) == nil)
            #expect(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(newSecret.utf8))) == newIdentity)
            let expired = await failure { _ = try await fixture.loggers.rotateCredential(rotate, technician(tenant)) }
            #expect(expired?.code == 9)
            // Revoking the secret ends it at once (the answer cached a moment ago included).
            var revoke = TenancyV1.RevokeLoggerCredentialRequest()
            revoke.tenantID = tenant.bytes
            revoke.credentialID = successor.credentialID
            _ = try await fixture.loggers.revokeCredential(revoke, technician(tenant))
            #expect(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(newSecret.utf8))) == nil)
            #expect(try await CredentialRegistry(store: fixture.store).logger(secretSHA256: try WattlineCrypto.sha256(Array(newSecret.utf8))) == nil)
            #expect(try await fixture.getLogger(tenant, logger.loggerID).state == .pending)
        }
    }

    @Test func rotatingACertificateRefusesTheOldOneAtConnectAfterTheOverlap() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-0003")
            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(try makeCSR()))
            let old = try #require(issued.credential)
            let oldFingerprint = hex(old.certificateSHA256)
            var rotate = TenancyV1.RotateLoggerCredentialRequest()
            rotate.tenantID = tenant.bytes
            rotate.credentialID = old.credentialID
            rotate.material = TenancyV1.CredentialMaterial(.csrDER(try makeCSR()))
            rotate.overlapSeconds = 2
            let rotated = try await fixture.loggers.rotateCredential(rotate, technician(tenant))
            let successor = try #require(rotated.issued?.credential)
            #expect(successor.kind == .certificate && successor.certificateSHA256 != old.certificateSHA256)
            #expect(!fixture.registry.revokedCertificates.contains(oldFingerprint))
            let otherNode = RevokedCertificates(store: fixture.store)
            try await otherNode.refresh()
            #expect(otherNode.count == 1 && !otherNode.contains(oldFingerprint))
            try await Task.sleep(for: .milliseconds(2_300))
            #expect(fixture.registry.revokedCertificates.contains(oldFingerprint))
            #expect(otherNode.contains(oldFingerprint))
            #expect(!fixture.registry.revokedCertificates.contains(hex(successor.certificateSHA256)))
            #expect(try await fixture.registry.logger(certificateSHA256: oldFingerprint) == nil)
            #expect(try await fixture.registry.logger(certificateSHA256: hex(successor.certificateSHA256))?.loggerID
                    == UUID(bytes: logger.loggerID)?.text)
        }
    }

    @Test func decommissionRevokesEveryCredential() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SN-0004")
            let certificate = try await fixture.provision(tenant, logger: logger.loggerID, .csrDER(try makeCSR()))
            let secretIssue = try await fixture.provision(tenant, logger: logger.loggerID, .apiSecret(.init()))
            guard case .apiSecret(let secret)? = secretIssue.issued else {
                Issue.record("expected an API secret")
                return
            }
            let fingerprint = hex(try #require(certificate.credential).certificateSHA256)
            let secretHash = try WattlineCrypto.sha256(Array(secret.utf8))
            #expect(try await fixture.registry.logger(certificateSHA256: fingerprint) != nil)
            #expect(try await fixture.registry.logger(secretSHA256: secretHash) != nil)

            var request = TenancyV1.DecommissionLoggerRequest()
            request.tenantID = tenant.bytes
            request.loggerID = logger.loggerID
            request.reason = "replaced by new hardware"
            let decommissioned = try #require(try await fixture.loggers.decommissionLogger(request, admin(tenant)).logger)
            #expect(decommissioned.state == .decommissioned && decommissioned.decommissionedAtMs > 0)
            #expect(decommissioned.credentials.count == 2)
            let revokedTimes = decommissioned.credentials.map(\.revokedAtMs)
            #expect(revokedTimes.count == 2 && !revokedTimes.contains(0))
            #expect(try await fixture.registry.logger(certificateSHA256: fingerprint) == nil)
            #expect(try await fixture.registry.logger(secretSHA256: secretHash) == nil)
            #expect(fixture.registry.revokedCertificates.contains(fingerprint))
            // Twice changes nothing; no new credential; the serial number is free again.
            let again = try #require(try await fixture.loggers.decommissionLogger(request, admin(tenant)).logger)
            #expect(again.decommissionedAtMs == decommissioned.decommissionedAtMs)
            let refused = await failure { _ = try await fixture.provision(tenant, logger: logger.loggerID, .apiSecret(.init())) }
            #expect(refused?.code == 9)
            let successor = try await fixture.register(tenant, site: site, serial: "SN-0004")
            #expect(successor.loggerID != logger.loggerID)
        }
    }

    @Test func modelAndSerialAreRegisteredOnceAcrossTenants() async throws {
        try await Fixture.with { fixture in
            let (tenantA, siteA) = try await fixture.makeTenant()
            let (tenantB, siteB) = try await fixture.makeTenant()
            _ = try await fixture.register(tenantA, site: siteA, serial: "SN-SHARED")
            let sameTenant = await failure { _ = try await fixture.register(tenantA, site: siteA, serial: "SN-SHARED") }
            #expect(sameTenant?.code == 6)
            let otherTenant = await failure { _ = try await fixture.register(tenantB, site: siteB, serial: "SN-SHARED") }
            #expect(otherTenant?.code == 6)
            // Another model with the same serial number is another logger.
            _ = try await fixture.register(tenantB, site: siteB, serial: "SN-SHARED", model: "WL-200")
            // A site of another tenant is not found; bad fields are invalid.
            let foreignSite = await failure { _ = try await fixture.register(tenantA, site: siteB, serial: "SN-X") }
            #expect(foreignSite?.code == 5)
            for serial in ["", String(repeating: "9", count: 65), "SN\u{0}1", "SN\n1"] {
                let invalid = await failure { _ = try await fixture.register(tenantA, site: siteA, serial: serial) }
                #expect(invalid?.code == 3, "serial \(serial.debugDescription)")
            }
        }
    }

    @Test func listsBySerialNumberInPages() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let otherSite = try await fixture.makeSite(in: tenant)
            for serial in ["C-3", "A-1", "B-2"] { _ = try await fixture.register(tenant, site: site, serial: serial) }
            let elsewhere = try await fixture.register(tenant, site: otherSite, serial: "D-4")
            _ = try await fixture.provision(tenant, logger: elsewhere.loggerID, .apiSecret(.init()))
            var request = TenancyV1.ListLoggersRequest()
            request.tenantID = tenant.bytes
            request.pageSize = 2
            let first = try await fixture.loggers.listLoggers(request, context(tenant, viewerPrincipal(tenant)))
            #expect(first.loggers.map(\.serialNumber) == ["A-1", "B-2"])
            #expect(!first.nextPageToken.isEmpty)
            request.pageToken = first.nextPageToken
            let second = try await fixture.loggers.listLoggers(request, context(tenant, viewerPrincipal(tenant)))
            #expect(second.loggers.map(\.serialNumber) == ["C-3", "D-4"])
            #expect(second.nextPageToken.isEmpty)
            #expect(second.loggers.last?.credentials.count == 1 && second.loggers.last?.state == .active)
            // One site only; decommissioned ones only on request.
            var bySite = TenancyV1.ListLoggersRequest()
            bySite.tenantID = tenant.bytes
            bySite.siteID = otherSite.bytes
            #expect(try await fixture.loggers.listLoggers(bySite, context(tenant, viewerPrincipal(tenant))).loggers.map(\.serialNumber) == ["D-4"])
            var decommission = TenancyV1.DecommissionLoggerRequest()
            decommission.tenantID = tenant.bytes
            decommission.loggerID = elsewhere.loggerID
            _ = try await fixture.loggers.decommissionLogger(decommission, admin(tenant))
            #expect(try await fixture.loggers.listLoggers(bySite, context(tenant, viewerPrincipal(tenant))).loggers.isEmpty)
            bySite.includeDecommissioned = true
            #expect(try await fixture.loggers.listLoggers(bySite, context(tenant, viewerPrincipal(tenant))).loggers.count == 1)
            var bad = TenancyV1.ListLoggersRequest()
            bad.tenantID = tenant.bytes
            bad.pageToken = "not a token"
            let badToken = await failure { _ = try await fixture.loggers.listLoggers(bad, context(tenant, viewerPrincipal(tenant))) }
            #expect(badToken?.code == 3)
            bad.pageToken = ""
            bad.pageSize = 501
            let badSize = await failure { _ = try await fixture.loggers.listLoggers(bad, context(tenant, viewerPrincipal(tenant))) }
            #expect(badSize?.code == 3)
        }
    }
}

enum Base64URLCheck {
    static func isBase64URL(_ text: String) -> Bool {
        text.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5a) || ($0 >= 0x61 && $0 <= 0x7a) || $0 == 0x2d || $0 == 0x5f }
    }
}
