import Foundation
import Testing
import WattlineAudit
import WattlineClient
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport

/// The audit log through the running server: audited calls land in their tenant's chain (refused
/// ones too), admins list them, and every kind of tampering with the stored rows is found, both
/// by the VerifyChain RPC and by `wattline audit verify`'s direct reading of the database.
@Suite("Audit log: hash chains, listing, verification, append-only", .serialized)
struct AuditTests {
    @Test("calls are recorded with actor, outcome and subject; admins list them; the chain verifies")
    func recording() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let own = bytes(fixture.ownTenant)
            let admin = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.admin]))
            let viewer = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.viewer]))
            // A refused call: a viewer may not rename the tenant.
            await #expect(throws: RPCError.self) {
                _ = try await TenancyV1.TenantService.Client(client).updateTenant(.with {
                    $0.tenantID = own
                    $0.nameUpdate = .name("Renamed by a viewer")
                }, options: viewer)
            }
            // A failed sign-in lands in the platform's chain, naming nobody.
            await #expect(throws: RPCError.self) {
                _ = try await ImsV1.ImsService.Client(client).login(.with {
                    $0.email = "nobody@example.test"
                    $0.password = "wrong password here"
                }, options: CallOptions(timeout: .seconds(30)))
            }
            let audit = AuditV1.AuditService.Client(client)
            let all = try await audit.listEvents(.with { $0.tenantID = own; $0.pageSize = 1_000 }, options: admin).events
            #expect(all.map(\.sequence) == (1...UInt64(all.count)).map { $0 })
            #expect(all.contains { $0.action == "/wattline.tenancy.v1.SiteService/CreateSite" && $0.outcome == .success && $0.subject?.kind == .site })
            #expect(all.contains { $0.action.hasSuffix("/ProvisionLoggerCredential") && $0.kind == .credential })
            let refused = try #require(all.last { $0.action == "/wattline.tenancy.v1.TenantService/UpdateTenant" })
            #expect(refused.outcome == .denied && refused.statusCode == 7)
            guard case .identityID(let viewerID)? = refused.actor?.principal else { Issue.record("no actor"); return }
            #expect(viewerID.count == 16)
            // Filters and pages.
            let denied = try await audit.listEvents(.with { $0.tenantID = own; $0.outcome = .denied }, options: admin).events
            #expect(!denied.isEmpty && denied.allSatisfy { $0.outcome == .denied })
            let byViewer = try await audit.listEvents(.with { $0.tenantID = own; $0.actorID = viewerID }, options: admin).events
            #expect(byViewer.contains { $0.sequence == refused.sequence })
            let firstPage = try await audit.listEvents(.with { $0.tenantID = own; $0.pageSize = 2; $0.newestFirst = true }, options: admin)
            let secondPage = try await audit.listEvents(.with {
                $0.tenantID = own; $0.pageSize = 2; $0.newestFirst = true; $0.pageToken = firstPage.nextPageToken
            }, options: admin)
            #expect(firstPage.events.count == 2 && secondPage.events.first?.sequence == firstPage.events[1].sequence - 1)
            // A viewer may not read the log.
            await #expect(throws: RPCError.self) { _ = try await audit.listEvents(.with { $0.tenantID = own }, options: viewer) }

            let verified = try await audit.verifyChain(.with { $0.tenantID = own }, options: admin)
            #expect(verified.firstBrokenSequence == 0 && verified.breakKind == .unspecified)
            #expect(verified.verifiedToSequence == verified.headSequence && verified.headSequence >= UInt64(all.count))

            let connection = try PGConnection(conninfo: fixture.database.adminConninfo)
            let platform = try ChainAudit.verify(connection, chain: AuditLog.platform.uuid)
            #expect(platform.report.firstBroken == nil && platform.head > 0)
            let logins = try connection.query(
                "SELECT count(*) FROM wattline.audit_events WHERE tenant_id = $1 AND outcome = 2", [.uuid(AuditLog.platform.uuid)])
            #expect(try logins[0].int64(0) >= 1)
        }
    }

    @Test("altered, re-hashed, removed, reordered and truncated events are each found; the server's role cannot change rows")
    func tampering() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let own = fixture.ownTenant
            let admin = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.admin]))
            let audit = AuditV1.AuditService.Client(client)
            let db = try PGConnection(conninfo: fixture.database.adminConninfo)
            let intact = try ChainAudit.verify(db, chain: own)
            #expect(intact.report.firstBroken == nil && intact.head >= 5)
            let anchor = (sequence: intact.head, hash: intact.report.verifiedToHash)
            let k: Int64 = 3

            func row(_ sequence: Int64) throws -> (event: [UInt8], hash: [UInt8]) {
                let found = try db.query("SELECT event, event_hash FROM wattline.audit_events WHERE tenant_id = $1 AND sequence = $2",
                                         [.uuid(own), .int64(sequence)])[0]
                return (try found.bytes(0), try found.bytes(1))
            }
            func set(_ sequence: Int64, event: [UInt8], hash: [UInt8]) throws {
                try db.query("UPDATE wattline.audit_events SET event = $3, event_hash = $4 WHERE tenant_id = $1 AND sequence = $2",
                             [.uuid(own), .int64(sequence), .bytea(event), .bytea(hash)])
            }
            /// What the direct check and the RPC both report.
            func broken() async throws -> (Int64?, AuditV1.BreakKind, UInt64, AuditV1.BreakKind) {
                let direct = try ChainAudit.verify(db, chain: own, anchor: anchor).report
                let remote = try await audit.verifyChain(.with {
                    $0.tenantID = bytes(own)
                    $0.anchorSequence = UInt64(anchor.sequence)
                    $0.anchorHash = anchor.hash
                }, options: admin)
                return (direct.firstBroken, direct.breakKind, remote.firstBrokenSequence, remote.breakKind)
            }
            let original = try row(k)

            // Altered: one byte of the event.
            var altered = original.event
            altered[altered.count / 2] ^= 0x01
            try set(k, event: altered, hash: original.hash)
            #expect(try await broken() == (k, .hashMismatch, UInt64(k), .hashMismatch))

            // Altered and re-hashed: the next event's link no longer matches.
            try set(k, event: altered, hash: try sha256(altered))
            #expect(try await broken() == (k + 1, .linkMismatch, UInt64(k + 1), .linkMismatch))
            try set(k, event: original.event, hash: original.hash)
            #expect(try await broken().0 == nil)

            // Reordered: events k and k + 1 swapped.
            let next = try row(k + 1)
            try set(k, event: next.event, hash: next.hash)
            try set(k + 1, event: original.event, hash: original.hash)
            #expect(try await broken() == (k, .hashMismatch, UInt64(k), .hashMismatch))
            try set(k, event: original.event, hash: original.hash)
            try set(k + 1, event: next.event, hash: next.hash)

            // Removed: event k.
            try db.query("DELETE FROM wattline.audit_events WHERE tenant_id = $1 AND sequence = $2", [.uuid(own), .int64(k)])
            #expect(try await broken() == (k, .sequenceGap, UInt64(k), .sequenceGap))
            try db.query(
                "INSERT INTO wattline.audit_events SELECT tenant_id, $2, occurred_at_ms, kind, outcome, actor_id, subject_id, $3, $4 FROM wattline.audit_events WHERE tenant_id = $1 AND sequence = 1",
                [.uuid(own), .int64(k), .bytea(original.event), .bytea(original.hash)])
            #expect(try await broken().0 == nil)

            // Truncated: the tail from the anchored event on removed (the verifications above were
            // audited too, so the chain has grown); only the anchor from the earlier run notices.
            try db.query("DELETE FROM wattline.audit_events WHERE tenant_id = $1 AND sequence >= $2", [.uuid(own), .int64(anchor.sequence)])
            #expect(try ChainAudit.verify(db, chain: own).report.firstBroken == nil)
            #expect(try ChainAudit.verify(db, chain: own, anchor: anchor).report.firstBroken == anchor.sequence)

            // The server's role reads and appends only.
            let app = try PGConnection(conninfo: fixture.database.appConninfo)
            try app.query("BEGIN")
            try app.query("SELECT set_config('wattline.tenant_id', $1, true)", [.text(own.uuidString.lowercased())])
            #expect(try app.query("SELECT count(*) FROM wattline.audit_events")[0].int64(0) > 0)
            for statement in ["UPDATE wattline.audit_events SET outcome = 1", "DELETE FROM wattline.audit_events", "TRUNCATE wattline.audit_events"] {
                try app.query("SAVEPOINT attempt")
                #expect(throws: PGError.self) { try app.query(statement) }
                try app.query("ROLLBACK TO SAVEPOINT attempt")
            }
            try app.query("ROLLBACK")
        }
    }
}
