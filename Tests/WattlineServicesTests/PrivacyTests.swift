import Foundation
import Testing
import WattlineAudit
import WattlineClient
import WattlineConsent
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport

/// GDPR rights and off-boarding through the running server, checked in the raw database.
@Suite("Privacy: personal data access, erasure, tenant off-boarding", .serialized)
struct PrivacyTests {
    static func options(_ fixture: ServicesFixture, _ caller: Caller) throws -> CallOptions {
        CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[caller]))
    }

    /// Every text and bytea value of the schemas that contains `needle` in clear: "table.column".
    static func plaintextOccurrences(_ admin: PGConnection, _ needle: String) throws -> [String] {
        let columns = try admin.query(
            """
            SELECT table_schema, table_name, column_name FROM information_schema.columns
            WHERE table_schema IN ('wattline', 'ims') AND data_type IN ('text', 'bytea', 'character varying')
            """).rows.map { (try $0.string(0), try $0.string(1), try $0.string(2)) }
        var found: [String] = []
        for (schema, table, column) in columns {
            let hits = try admin.query(
                "SELECT count(*) FROM \(schema).\(table) WHERE position(convert_to($1, 'UTF8') in \(column)::bytea) > 0",
                [.text(needle)])
            if try hits[0].int64(0) > 0 { found.append("\(schema).\(table).\(column)") }
        }
        return found
    }

    @Test("a person gets their data as one JSON document; erasure leaves nothing readable of them and keeps the evidence pseudonymous")
    func accessAndErasure() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let privacy = PrivacyV1.PrivacyService.Client(client)
            let viewer = try Self.options(fixture, .viewer)
            let document = try await privacy.accessPersonalData(.init(), options: viewer)
            #expect(document.jsonDocumentSHA256 == (try sha256(document.jsonDocument)))
            let json = try CanonicalJSON.parse(document.jsonDocument)
            #expect(json["identity"]?["email"] == .string("viewer@matrix.test"))
            #expect(json["identity"]?["display_name"] == .string("viewer"))
            guard case .array(let memberships)? = json["memberships"], case .array(let sessions)? = json["sessions"],
                  case .array(let events)? = json["audit_events"] else { Issue.record("sections missing"); return }
            #expect(memberships == [.object(["tenant_id": .string(fixture.ownTenant.uuidString.lowercased()), "role": .string("viewer")])])
            #expect(!sessions.isEmpty && !events.isEmpty)  // signed in, and the sign-in was audited
            #expect(await ConsentTests.code { _ = try await privacy.accessPersonalData(.init(), options: viewer) } == 8)

            // Preconditions: the Responsible of a site, the last owner of a tenant.
            for (caller, name) in [(Caller.responsible, "responsible"), (.outsider, "outsider")] {
                #expect(await ConsentTests.code {
                    _ = try await privacy.requestErasure(.with { $0.currentPassword = ServicesFixture.password }, options: try Self.options(fixture, caller))
                } == 9, "\(name)")
            }
            // A wrong password erases nothing.
            #expect(await ConsentTests.code { _ = try await privacy.requestErasure(.with { $0.currentPassword = "not my password" }, options: viewer) } == 16)

            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let viewerID = try admin.query("SELECT identity_id FROM wattline.memberships WHERE role = 'viewer' AND tenant_id = $1", [.uuid(fixture.ownTenant)])[0].uuid(0)
            let indexBefore = try admin.query("SELECT email_index FROM ims.identities WHERE identity_id = $1", [.uuid(viewerID)])[0].bytes(0)
            let erasure = try #require(try await privacy.requestErasure(.with { $0.currentPassword = ServicesFixture.password }, options: viewer).erasure)
            #expect(erasure.state == .completed && erasure.extent == .identity)
            let categories = Dictionary(uniqueKeysWithValues: erasure.categories.map { ($0.category, $0) })
            #expect(categories["memberships"]?.action == .deleted && categories["memberships"]?.recordCount == 1)
            #expect(categories["sessions"]?.action == .deleted && (categories["sessions"]?.recordCount ?? 0) >= 1)
            #expect(categories["audit events"]?.action == .pseudonymised && categories["audit events"]?.retentionReason.isEmpty == false)
            // The erased person's token no longer works.
            #expect(await ConsentTests.code { _ = try await privacy.accessPersonalData(.init(), options: viewer) } == 16)
            // The requester reads the receipt of the erasure; a stranger does not.
            #expect(try await privacy.getErasureStatus(.with { $0.erasureID = erasure.erasureID }, options: try Self.options(fixture, .platformOperator))
                .erasure == erasure)

            // In the raw database: nothing readable of the person.
            #expect(try Self.plaintextOccurrences(admin, "viewer@matrix.test").isEmpty)
            let identity = try admin.query(
                "SELECT email_index, password_hash IS NULL, profile_enc IS NULL, erased_at IS NOT NULL FROM ims.identities WHERE identity_id = $1",
                [.uuid(viewerID)])[0]
            #expect(try identity.bytes(0) != indexBefore)
            #expect(try identity.bool(1) && identity.bool(2) && identity.bool(3))
            let imsKeyring = IMSKeyring(master: fixture.master)
            let sealedEmail = try admin.query("SELECT email_enc FROM ims.identities WHERE identity_id = $1", [.uuid(viewerID)])[0].bytes(0)
            #expect(try imsKeyring.open(sealedEmail, admin, table: "identities", column: "email_enc", row: viewerID.bytes).isEmpty)
            for table in ["ims.sessions", "wattline.memberships", "wattline.consent_principals"] {
                #expect(try admin.query("SELECT count(*) FROM \(table) WHERE identity_id = $1", [.uuid(viewerID)])[0].int64(0) == 0, "\(table)")
            }
            // The audit chains still verify: erasure changes no audit row.
            for chain in try ChainAudit.chains(admin) { #expect(try ChainAudit.verify(admin, chain: chain).report.firstBroken == nil) }

            // An admin erases a member in their tenant (the technician's only membership: the whole identity).
            let technicianID = try admin.query("SELECT identity_id FROM wattline.memberships WHERE role = 'technician' AND tenant_id = $1",
                                               [.uuid(fixture.ownTenant)])[0].uuid(0)
            let byAdmin = try #require(try await privacy.requestErasure(.with {
                $0.identityID = technicianID.bytes
                $0.tenantID = bytes(fixture.ownTenant)
            }, options: try Self.options(fixture, .admin)).erasure)
            #expect(byAdmin.extent == .identity && byAdmin.state == .completed)
            #expect(try Self.plaintextOccurrences(admin, "technician@matrix.test").isEmpty)
            // Someone without a role in the tenant may not erase its members.
            let ownerID = try admin.query("SELECT identity_id FROM wattline.memberships WHERE role = 'owner' AND tenant_id = $1",
                                          [.uuid(fixture.ownTenant)])[0].uuid(0)
            #expect(await ConsentTests.code {
                _ = try await privacy.requestErasure(.with { $0.identityID = ownerID.bytes; $0.tenantID = bytes(fixture.ownTenant) },
                                                     options: try Self.options(fixture, .roleless))
            } == 7)
        }
    }

    @Test("off-boarding destroys the tenant's data key, then purges its rows; its audit chain stays intact")
    func offboarding() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let other = fixture.otherTenant
            let outsider = try Self.options(fixture, .outsider)
            _ = try await TenancyV1.TenantService.Client(client).requestTenantOffboarding(.with {
                $0.tenantID = bytes(other)
                $0.confirmationName = "Other"
            }, options: outsider)
            let privacy = PrivacyV1.PrivacyService.Client(client)
            let operatorOptions = try Self.options(fixture, .platformOperator)
            // Within the grace period: refused.
            #expect(await ConsentTests.code {
                _ = try await privacy.offboardTenant(.with { $0.tenantID = bytes(other); $0.confirmationName = "Other" }, options: operatorOptions)
            } == 9)
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            try admin.query("UPDATE wattline.tenants SET purge_not_before = now() - interval '1 second' WHERE tenant_id = $1", [.uuid(other)])
            #expect(await ConsentTests.code {
                _ = try await privacy.offboardTenant(.with { $0.tenantID = bytes(other); $0.confirmationName = "Another" }, options: operatorOptions)
            } == 9)
            let job = try #require(try await privacy.offboardTenant(.with { $0.tenantID = bytes(other); $0.confirmationName = "Other" },
                                                                    options: operatorOptions).job)
            #expect(job.state == .completed && job.keyDestroyedAtMs > 0 && job.keyDestroyedAtMs <= job.completedAtMs && job.rowsPurged > 0)
            #expect(try await privacy.getOffboardingStatus(.with { $0.jobID = job.jobID }, options: operatorOptions).job == job)
            // Again: the finished job, nothing more.
            #expect(try await privacy.offboardTenant(.with { $0.tenantID = bytes(other); $0.confirmationName = "Other" }, options: operatorOptions).job == job)

            for table in ["tenants", "data_keys", "sites", "memberships", "loggers", "credentials", "meters", "channels", "ingest_batches",
                          "telemetry_blocks", "rollups", "channel_latest", "consents", "consent_principals", "connector_secrets"] {
                #expect(try admin.query("SELECT count(*) FROM wattline.\(table) WHERE tenant_id = $1", [.uuid(other)])[0].int64(0) == 0, "\(table)")
            }
            #expect(try admin.query("SELECT count(*) FROM ims.invitations WHERE tenant_id = $1", [.uuid(other)])[0].int64(0) == 0)
            let chain = try ChainAudit.verify(admin, chain: other)
            #expect(chain.head > 0 && chain.report.firstBroken == nil)
            // The own tenant is untouched.
            #expect(try admin.query("SELECT count(*) FROM wattline.sites WHERE tenant_id = $1", [.uuid(fixture.ownTenant)])[0].int64(0) > 0)
        }
    }
}
