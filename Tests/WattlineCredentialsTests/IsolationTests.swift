import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

@Suite(.serialized) struct IsolationTests {
    @Test func idsOfAnotherTenantAreNotFound() async throws {
        try await Fixture.with { fixture in
            let (tenantA, siteA) = try await fixture.makeTenant()
            let (tenantB, _) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenantA, site: siteA, serial: "SN-ISO")
            let issued = try await fixture.provision(tenantA, logger: logger.loggerID, .apiSecret(.init()))
            let credentialID = try #require(issued.credential).credentialID

            var get = TenancyV1.GetLoggerRequest()
            get.tenantID = tenantB.bytes
            get.loggerID = logger.loggerID
            let read = await failure { _ = try await fixture.loggers.getLogger(get, context(tenantB, viewerPrincipal(tenantB))) }
            #expect(read?.code == 5)

            var provision = TenancyV1.ProvisionLoggerCredentialRequest()
            provision.tenantID = tenantB.bytes
            provision.loggerID = logger.loggerID
            provision.material = TenancyV1.CredentialMaterial(.apiSecret(.init()))
            let provisioned = await failure { _ = try await fixture.loggers.provisionCredential(provision, technician(tenantB)) }
            #expect(provisioned?.code == 5)

            var rotate = TenancyV1.RotateLoggerCredentialRequest()
            rotate.tenantID = tenantB.bytes
            rotate.credentialID = credentialID
            rotate.material = TenancyV1.CredentialMaterial(.apiSecret(.init()))
            let rotated = await failure { _ = try await fixture.loggers.rotateCredential(rotate, technician(tenantB)) }
            #expect(rotated?.code == 5)

            var revoke = TenancyV1.RevokeLoggerCredentialRequest()
            revoke.tenantID = tenantB.bytes
            revoke.credentialID = credentialID
            let revoked = await failure { _ = try await fixture.loggers.revokeCredential(revoke, technician(tenantB)) }
            #expect(revoked?.code == 5)

            var decommission = TenancyV1.DecommissionLoggerRequest()
            decommission.tenantID = tenantB.bytes
            decommission.loggerID = logger.loggerID
            let decommissioned = await failure { _ = try await fixture.loggers.decommissionLogger(decommission, admin(tenantB)) }
            #expect(decommissioned?.code == 5)

            // Integration credentials likewise; and a logger credential id is no integration's.
            var issue = ImsV1.IssueIntegrationCredentialRequest()
            issue.tenantID = tenantA.bytes
            issue.name = "BMS"
            issue.role = .viewer
            let integration = try #require(try await fixture.integrations.issueCredential(issue, admin(tenantA)).credential)
            var revokeIntegration = ImsV1.RevokeIntegrationCredentialRequest()
            revokeIntegration.tenantID = tenantB.bytes
            revokeIntegration.credentialID = integration.credentialID
            let foreignRevoke = await failure { _ = try await fixture.integrations.revokeCredential(revokeIntegration, admin(tenantB)) }
            #expect(foreignRevoke?.code == 5)
            revokeIntegration.tenantID = tenantA.bytes
            revokeIntegration.credentialID = credentialID
            let loggerCredential = await failure { _ = try await fixture.integrations.revokeCredential(revokeIntegration, admin(tenantA)) }
            #expect(loggerCredential?.code == 5)
            var list = ImsV1.ListIntegrationCredentialsRequest()
            list.tenantID = tenantB.bytes
            #expect(try await fixture.integrations.listCredentials(list, admin(tenantB)).credentials.isEmpty)
            var listLoggers = TenancyV1.ListLoggersRequest()
            listLoggers.tenantID = tenantB.bytes
            #expect(try await fixture.loggers.listLoggers(listLoggers, context(tenantB, viewerPrincipal(tenantB))).loggers.isEmpty)

            // Nothing of tenant A changed.
            let after = try await fixture.getLogger(tenantA, logger.loggerID)
            #expect(after.state == .active && after.credentials.count == 1 && after.credentials[0].revokedAtMs == 0)
        }
    }

    @Test func aLoggerReadsOnlyItself() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let first = try await fixture.register(tenant, site: site, serial: "SN-SELF-1")
            let second = try await fixture.register(tenant, site: site, serial: "SN-SELF-2")
            let issued = try await fixture.provision(tenant, logger: first.loggerID, .apiSecret(.init()))
            guard case .apiSecret(let secret)? = issued.issued else {
                Issue.record("expected an API secret")
                return
            }
            let identity = try #require(try await fixture.registry.logger(secretSHA256: try WattlineCrypto.sha256(Array(secret.utf8))))
            let me = try await fixture.getLogger(tenant, first.loggerID, as: loggerPrincipal(identity))
            #expect(me.loggerID == first.loggerID)
            let refused = await failure { _ = try await fixture.getLogger(tenant, second.loggerID, as: loggerPrincipal(identity)) }
            #expect(refused?.code == 5)
        }
    }

    /// Only hashes and ciphertext reach the database: the secrets, their random part, and the
    /// sealed names and serial numbers appear in no column of any table.
    @Test func secretsAreNotInTheDatabase() async throws {
        try await Fixture.with { fixture in
            let (tenant, site) = try await fixture.makeTenant()
            let logger = try await fixture.register(tenant, site: site, serial: "SERIAL-PLAINTEXT-42")
            let issued = try await fixture.provision(tenant, logger: logger.loggerID, .apiSecret(.init()))
            guard case .apiSecret(let loggerSecret)? = issued.issued else {
                Issue.record("expected an API secret")
                return
            }
            var request = ImsV1.IssueIntegrationCredentialRequest()
            request.tenantID = tenant.bytes
            request.name = "Label-In-Plaintext-77"
            request.role = .viewer
            let clientSecret = try await fixture.integrations.issueCredential(request, admin(tenant)).clientSecret

            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let tables = try admin.query(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = 'wattline' AND table_type = 'BASE TABLE'"
            ).rows.map { try $0.string(0) }
            #expect(tables.contains("credentials") && tables.contains("loggers"))
            var dump = ""
            for table in tables {
                // Text and bytea alike, as text and as hex.
                for row in try admin.query("SELECT t::text FROM wattline.\(table) t").rows { dump += try row.string(0) + "\n" }
            }
            #expect(dump.contains("\\x" + hex(try WattlineCrypto.sha256(Array(loggerSecret.utf8)))))
            #expect(dump.contains("\\x" + hex(try WattlineCrypto.sha256(Array(clientSecret.utf8)))))
            for needle in [loggerSecret, String(loggerSecret.dropFirst(11)), clientSecret, String(clientSecret.dropFirst(11)),
                           "SERIAL-PLAINTEXT-42", hex(Array("SERIAL-PLAINTEXT-42".utf8)),
                           "Label-In-Plaintext-77", hex(Array("Label-In-Plaintext-77".utf8)), "Boiler room"] {
                #expect(!dump.contains(needle), "\(needle.prefix(12))… is in the database")
            }
        }
    }
}
