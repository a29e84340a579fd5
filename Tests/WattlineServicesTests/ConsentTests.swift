import Foundation
import Testing
import WattlineClient
import WattlineConsent
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport

/// The consent workflow through the running server: only the site's Responsible signs, after
/// seeing the exact text; receipts verify offline and fail when any byte changes; no export
/// without a consent in force, and a revocation blocks the next one.
@Suite("Consent: signatures, receipts, status, the export gate", .serialized)
struct ConsentTests {
    static let text = "# Data Use and Protection Policy\n\nWattline stores your site's telemetry for you."

    struct Callers {
        let operatorOptions: CallOptions, responsible: CallOptions, owner: CallOptions, viewer: CallOptions, integration: CallOptions
    }

    static func callers(_ fixture: ServicesFixture) throws -> Callers {
        func options(_ caller: Caller) throws -> CallOptions {
            CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[caller]))
        }
        return Callers(operatorOptions: try options(.platformOperator), responsible: try options(.responsible), owner: try options(.owner),
                       viewer: try options(.viewer), integration: try options(.integrationViewer))
    }

    static func publish(_ client: WattlineClient, _ options: CallOptions, policy: [UInt8] = [], version: String, resign: Bool = false) async throws -> ConsentV1.PolicyVersion {
        try #require(try await ConsentV1.ConsentService.Client(client).publishPolicyVersion(.with {
            $0.policyID = policy
            $0.version = version
            $0.locale = "en"
            $0.title = "Data Use and Protection Policy"
            $0.text = Self.text + " Version \(version)."
            $0.scopes = [.cloudStorage, .exportThirdParty, .analytics, .bulkDownload]
            $0.requiresResigning = resign
            $0.policyURL = "https://wattline.example/policy/\(version)"
        }, options: options).policyVersion)
    }

    static func signRequest(_ fixture: ServicesFixture, _ version: ConsentV1.PolicyVersion, _ scopes: [ConsentV1.Scope], hash: [UInt8]? = nil) throws -> ConsentV1.SignRequest {
        try .with {
            $0.tenantID = bytes(fixture.ownTenant)
            $0.siteID = bytes(fixture.site_)
            $0.policyVersionID = version.policyVersionID
            $0.documentSHA256 = try hash ?? sha256(Array(version.text.utf8))
            $0.scopes = scopes
            $0.client = .with { $0.appName = "Wattline iOS"; $0.appVersion = "2.3.1"; $0.deviceName = "Ada's phone" }
            $0.requestID = bytes(UUID.v7())
        }
    }

    static func code(_ call: () async throws -> Void) async -> UInt32? {
        do { try await call(); return nil } catch let error as RPCError { return error.code } catch { return 999 }
    }

    static func keys(_ client: WattlineClient) async throws -> [String: Ed25519PublicKey] {
        var keys: [String: Ed25519PublicKey] = [:]
        for key in try await ConsentV1.ConsentService.Client(client).getVerificationKeys(.init(), options: CallOptions(timeout: .seconds(10))).keys {
            keys[String(decoding: key.keyID, as: UTF8.self)] = try Ed25519PublicKey(rawRepresentation: key.publicKey)
        }
        return keys
    }

    /// Exports the site's telemetry of the last days; the chunks' bytes and the manifest.
    static func export(_ client: WattlineClient, _ fixture: ServicesFixture, _ options: CallOptions, format: PrivacyV1.ExportFormat = .csv)
        async throws -> (content: [UInt8], manifest: PrivacyV1.ExportManifest?) {
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        return try await PrivacyV1.PrivacyService.Client(client).exportTelemetry(.with {
            $0.tenantID = bytes(fixture.ownTenant)
            $0.siteID = bytes(fixture.site_)
            $0.range = .with { $0.startMs = now - 3 * 86_400_000; $0.endMs = now + 60_000 }
            $0.format = format
        }, options: options) { responses in
            var content: [UInt8] = []
            var manifest: PrivacyV1.ExportManifest?
            for try await response in responses {
                switch response.part {
                case .chunk(let chunk)?:
                    #expect(chunk.offset == UInt64(content.count))
                    content += chunk.content
                case .manifest(let value)?: manifest = value
                default: break
                }
            }
            return (content, manifest)
        }
    }

    @Test("a non-Responsible cannot sign; the Responsible signs the exact text; receipts verify offline and fail on any changed byte")
    func signing() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let callers = try Self.callers(fixture)
            let consent = ConsentV1.ConsentService.Client(client)
            let version = try await Self.publish(client, callers.operatorOptions, version: "1.0")
            #expect(version.textSHA256 == (try sha256(Array(version.text.utf8))))
            let fetched = try #require(try await consent.getPolicyVersion(.with {
                $0.selector = .latest(.with { $0.policyID = version.policyID; $0.locale = "en-GB" })  // falls back to "en"
            }, options: callers.viewer).policyVersion)
            #expect(fetched.policyVersionID == version.policyVersionID && fetched.text == version.text)

            // Not the Responsible: refused, whoever it is.
            for caller in [callers.owner, callers.viewer] {
                #expect(await Self.code { _ = try await consent.sign(try Self.signRequest(fixture, fetched, [.cloudStorage]), options: caller) } == 7)
            }
            // The Responsible, with a text other than the version's: refused.
            #expect(await Self.code {
                _ = try await consent.sign(try Self.signRequest(fixture, fetched, [.cloudStorage], hash: try sha256(Array("another text".utf8))),
                                           options: callers.responsible)
            } == 9)
            let request = try Self.signRequest(fixture, fetched, [.cloudStorage, .bulkDownload])
            let receipt = try #require(try await consent.sign(request, options: callers.responsible).receipt)
            #expect(receipt.receiptKind == .consent && receipt.scopes == [.cloudStorage, .bulkDownload])
            #expect(receipt.policyTextSHA256 == request.documentSHA256)
            // A retry with the same request id returns the same receipt, signing nothing twice.
            #expect(try await consent.sign(request, options: callers.responsible).receipt == receipt)
            // Recorded once, in the signing transaction, with the consent as subject; the refusals too.
            let adminOptions = CallOptions(timeout: .seconds(30), authorization: try #require(fixture.authorization[.admin]))
            let signs = try await AuditV1.AuditService.Client(client).listEvents(.with {
                $0.tenantID = bytes(fixture.ownTenant); $0.kinds = [.consent]
            }, options: adminOptions).events.filter { $0.action.hasSuffix("/Sign") }
            #expect(signs.filter { $0.outcome == .success }.map { $0.subject?.subjectID } == [receipt.consentID])
            #expect(signs.filter { $0.outcome == .denied }.count == 2 && signs.filter { $0.outcome == .failed }.count == 1)

            // Offline: the receipt file and the published keys only.
            let keys = try await Self.keys(client)
            let file = try ReceiptDocument.file(canonical: receipt.canonicalEncoding, signature: receipt.signature)
            let verified = try ReceiptDocument.verify(file: file, keys: keys)
            #expect(verified["wl_consent_id"] == .string(try uuid(receipt.consentID).uuidString.lowercased()))
            #expect(verified["version"] == .string("KI-CR-v1.1.0"))
            #expect(!String(decoding: file, as: UTF8.self).contains("Ada"))  // no device name (personal data) in the evidence
            for index in file.indices {
                var changed = file
                changed[index] ^= 0x01
                #expect(throws: ReceiptDocument.VerificationError.self) { try ReceiptDocument.verify(file: changed, keys: keys) }
            }
            #expect(throws: ReceiptDocument.VerificationError.self) { try ReceiptDocument.verify(file: file + [0x20], keys: keys) }
            #expect(throws: ReceiptDocument.VerificationError.unknownKey(try #require(keys.keys.first))) {
                try ReceiptDocument.verify(file: file, keys: [:])
            }

            // Status: the signed scopes are active, the others not signed.
            let status = try await consent.getStatus(.with { $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_) },
                                                     options: callers.viewer)
            #expect(status.scopes.map(\.state) == [.active, .notSigned, .notSigned, .active])

            // A newer version that requires re-signing: the consent stays in force, pending.
            let second = try await Self.publish(client, callers.operatorOptions, policy: version.policyID, version: "2.0", resign: true)
            let pending = try await consent.getStatus(.with { $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_) },
                                                      options: callers.viewer)
            #expect(pending.scopes[0].state == .pending && pending.scopes[0].latestPolicyVersionID == second.policyVersionID)
            // The superseded version can no longer be signed.
            #expect(await Self.code { _ = try await consent.sign(try Self.signRequest(fixture, fetched, [.analytics]), options: callers.responsible) } == 9)

            // Revocation by the Responsible, with its own receipt.
            let revocation = try #require(try await consent.revoke(.with {
                $0.tenantID = bytes(fixture.ownTenant)
                $0.siteID = bytes(fixture.site_)
                $0.consentID = receipt.consentID
                $0.reason = "moving to another provider"
                $0.requestID = bytes(UUID.v7())
            }, options: callers.responsible).receipt)
            #expect(revocation.receiptKind == .revocation && revocation.originalReceiptID == receipt.receiptID)
            _ = try ReceiptDocument.verify(file: try ReceiptDocument.file(canonical: revocation.canonicalEncoding, signature: revocation.signature), keys: keys)
            let revoked = try await consent.getStatus(.with { $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_) },
                                                      options: callers.viewer)
            #expect(revoked.scopes.map(\.state) == [.revoked, .notSigned, .notSigned, .revoked])
            let listed = try await consent.listReceipts(.with { $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_) },
                                                        options: callers.owner)
            #expect(listed.receipts.map(\.receiptKind) == [.revocation, .consent])

            // The receipts name the signer only by a pseudonym.
            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let signer = try admin.query("SELECT identity_id FROM wattline.consent_principals WHERE pii_principal_id = $1",
                                         [.uuid(try uuid(receipt.piiPrincipalID))])
            let (identity, pseudonym) = (try signer[0].uuid(0), try uuid(receipt.piiPrincipalID))
            #expect(signer.count == 1 && identity != pseudonym)
        }
    }

    @Test("no export without a consent in force: refused, allowed once signed, refused again after revocation; every export path is gated")
    func exportGate() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let callers = try Self.callers(fixture)
            let consent = ConsentV1.ConsentService.Client(client)
            let now = Int64(Date().timeIntervalSince1970 * 1_000)
            let (energy, power) = (fixture.siteChannels[0], fixture.siteChannels[1])
            let sent = try await IngestTests.stream(client, secret: try #require(fixture.authorization[.logger]), [
                CompactionTests.batch(1, [(energy, now - 7_200_000, [10.5, 11.25, 12.0]), (power, now - 3_600_000, [1.5, .nan])]),
            ])
            #expect(sent.acks.first?.outcome == .stored)

            // Without consent: FAILED_PRECONDITION naming the scope.
            do {
                _ = try await Self.export(client, fixture, callers.viewer)
                Issue.record("an export without consent was not refused")
            } catch let error as RPCError {
                #expect(error.code == 9 && error.message.contains("bulk_download"))
            }
            let version = try await Self.publish(client, callers.operatorOptions, version: "1.0")
            let receipt = try #require(try await consent.sign(try Self.signRequest(fixture, version, [.cloudStorage, .bulkDownload]),
                                                                options: callers.responsible).receipt)
            let (csv, manifest) = try await Self.export(client, fixture, callers.viewer)
            let lines = String(decoding: csv, as: UTF8.self).components(separatedBy: "\r\n").filter { !$0.isEmpty }
            #expect(lines.first == "time,channel_id,value,quality" && lines.count == 6)
            #expect(lines.contains { $0.hasSuffix(",\(energy),11.25,0") } && lines.contains { $0.hasSuffix(",\(power),,16") })
            let expectedManifest = try #require(manifest)
            #expect(expectedManifest.rowCount == 5 && expectedManifest.byteCount == UInt64(csv.count))
            #expect(expectedManifest.contentSHA256 == (try sha256(csv)))
            let (jsonl, _) = try await Self.export(client, fixture, callers.viewer, format: .jsonLines)
            #expect(String(decoding: jsonl, as: UTF8.self).split(separator: "\n").first?.contains("\"channel_id\":\"\(energy)\"") == true)

            // An integration reading telemetry is sharing with a third party: that scope is not signed.
            let queries = TelemetryV1.QueryService.Client(client)
            #expect(await Self.code {
                _ = try await queries.readLatest(.with { $0.tenantID = bytes(fixture.ownTenant); $0.channelIDs = [energy] }, options: callers.integration)
            } == 9)
            // The tenant's own people read their dashboards without it.
            #expect(try await queries.readLatest(.with { $0.tenantID = bytes(fixture.ownTenant); $0.channelIDs = [energy] }, options: callers.viewer)
                .channelIDs == [energy])

            // Revoked: the next export is refused.
            _ = try await consent.revoke(.with {
                $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_); $0.consentID = receipt.consentID
                $0.requestID = bytes(UUID.v7())
            }, options: callers.responsible)
            #expect(await Self.code { _ = try await Self.export(client, fixture, callers.viewer) } == 9)

            // Every declared export path refuses without the consent it needs.
            let tenant = bytes(fixture.ownTenant)
            let range = TelemetryV1.TimeRange.with { $0.startMs = now - 86_400_000; $0.endMs = now }
            var refused: Set<String> = []
            for (path, rule) in ExportPaths.classified {
                let caller: CallOptions
                if case .forIntegrations = rule { caller = callers.integration } else { caller = callers.viewer }
                let outcome: UInt32? = await Self.code {
                    switch path {
                    case TelemetryV1.QueryService.ReadRaw.path:
                        try await queries.readRaw(.with { $0.tenantID = tenant; $0.channelIDs = [energy]; $0.range = range }, options: caller) { for try await _ in $0 {} }
                    case TelemetryV1.QueryService.ReadAggregates.path:
                        try await queries.readAggregates(.with {
                            $0.tenantID = tenant; $0.channelIDs = [energy]; $0.range = range; $0.bucketing = .with { $0.kind = .calendar(.day) }
                        }, options: caller) { for try await _ in $0 {} }
                    case TelemetryV1.QueryService.ReadEnergy.path:
                        _ = try await queries.readEnergy(.with {
                            $0.tenantID = tenant; $0.channelIDs = [energy]; $0.range = range; $0.bucketing = .with { $0.kind = .calendar(.day) }
                        }, options: caller)
                    case TelemetryV1.QueryService.ReadLatest.path:
                        _ = try await queries.readLatest(.with { $0.tenantID = tenant; $0.channelIDs = [energy] }, options: caller)
                    case PrivacyV1.PrivacyService.ExportTelemetry.path:
                        _ = try await Self.export(client, fixture, caller)
                    default:
                        Issue.record("\(path) is declared an export path but this test does not call it")
                    }
                }
                #expect(outcome == 9, "\(path) answered \(outcome.map(String.init) ?? "OK") without consent")
                if outcome == 9 { refused.insert(path) }
            }
            #expect(refused == Set(ExportPaths.classified.keys))
            // Every method that returns telemetry is declared.
            let telemetryReaders = ProtoRegistry.methods.map { $0.path }.filter { $0.hasPrefix("/wattline.telemetry.v1.QueryService/") || $0.hasSuffix("/ExportTelemetry") }
            #expect(Set(telemetryReaders).isSubset(of: Set(ExportPaths.classified.keys)) && !telemetryReaders.isEmpty)
        }
    }

    @Test("policy versions and receipts are listed in pages, newest first, each entry once")
    func paging() async throws {
        try await ServicesFixture.withServer { fixture, client in
            let callers = try Self.callers(fixture)
            let consent = ConsentV1.ConsentService.Client(client)
            var published: [ConsentV1.PolicyVersion] = []
            for version in ["1.0", "1.1", "1.2"] { published.append(try await Self.publish(client, callers.operatorOptions, version: version)) }
            var listed: [[UInt8]] = []
            var token = ""
            repeat {
                let page = try await consent.listPolicyVersions(.with { $0.pageSize = 2; $0.pageToken = token }, options: callers.viewer)
                #expect(page.policyVersions.count <= 2 && page.policyVersions.allSatisfy(\.text.isEmpty))
                listed += page.policyVersions.map(\.policyVersionID)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(listed == published.reversed().map(\.policyVersionID))

            // Three consents (each under its own policy's only version), listed two at a time.
            for version in published {
                _ = try await consent.sign(try Self.signRequest(fixture, version, [.analytics]), options: callers.responsible)
            }
            var receipts: [ConsentV1.ConsentReceipt] = []
            token = ""
            repeat {
                let page = try await consent.listReceipts(.with {
                    $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(fixture.site_); $0.pageSize = 2; $0.pageToken = token
                }, options: callers.owner)
                receipts += page.receipts
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(receipts.count == 3 && Set(receipts.map(\.receiptID)).count == 3)
            #expect(receipts.map(\.consentTimestampMs) == receipts.map(\.consentTimestampMs).sorted(by: >))
            #expect(await Self.code {
                _ = try await consent.getStatus(.with { $0.tenantID = bytes(fixture.ownTenant); $0.siteID = bytes(UUID()) }, options: callers.viewer)
            } == 5)
        }
    }
}
