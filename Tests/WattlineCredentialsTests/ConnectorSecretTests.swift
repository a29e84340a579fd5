import Foundation
import Testing
import WattlineAccess
@testable import WattlineCredentials
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineTestSupport
import WattlineWire

/// Secrets Wattline presents to other systems: write-only over the API, sealed in the store,
/// readable by the server itself in the tenant's scope only.
@Suite(.serialized) struct ConnectorSecretTests {
    static let invalidArgument: UInt32 = 3
    static let notFound: UInt32 = 5
    static let resourceExhausted: UInt32 = 8

    func service(_ fixture: Fixture) -> ConnectorSecretService {
        ConnectorSecretService(store: fixture.store, keyring: fixture.keyring)
    }

    func set(
        _ service: ConnectorSecretService, _ tenant: UUID, _ name: String, _ value: [UInt8],
        description: String = "", endpoint: String = "", as context: CallContext? = nil
    ) async throws -> ImsV1.SetConnectorSecretResponse {
        var request = ImsV1.SetConnectorSecretRequest()
        request.tenantID = tenant.bytes
        request.name = name
        request.value = value
        request.description = description
        request.endpoint = endpoint
        return try await service.setSecret(request, context ?? admin(tenant))
    }

    func list(_ service: ConnectorSecretService, _ tenant: UUID) async throws -> ImsV1.ListConnectorSecretsResponse {
        var request = ImsV1.ListConnectorSecretsRequest()
        request.tenantID = tenant.bytes
        return try await service.listSecrets(request, admin(tenant))
    }

    func delete(_ service: ConnectorSecretService, _ tenant: UUID, _ name: String) async throws -> ImsV1.DeleteConnectorSecretResponse {
        var request = ImsV1.DeleteConnectorSecretRequest()
        request.tenantID = tenant.bytes
        request.name = name
        return try await service.deleteSecret(request, admin(tenant))
    }

    @Test func setReplaceListDeleteNeverReturnTheValue() async throws {
        try await Fixture.with { fixture in
            let service = service(fixture)
            let (tenant, _) = try await fixture.makeTenant()
            let first = Array("sk_live_first-value-4f1d9c".utf8) + randomBytes(32)
            let second = Array("sk_live_second-value-77a0e3".utf8) + randomBytes(48)
            let other = randomBytes(16)
            let caller = admin(tenant)
            guard case .person(let identity, _, _)? = caller.principal as? Principal else {
                Issue.record("the admin context has no person")
                return
            }

            let created = try await set(service, tenant, "weather-api.key", first,
                                        description: "Weather service", endpoint: "https://api.weather.example/v2", as: caller)
            #expect(!contains(created.serializedBytes(), first))
            let metadata = try #require(created.connectorSecret)
            #expect(metadata.tenantID == tenant.bytes && metadata.name == "weather-api.key")
            #expect(metadata.description == "Weather service" && metadata.endpoint == "https://api.weather.example/v2")
            #expect(metadata.valueLength == UInt32(first.count))
            #expect(metadata.createdAtMs > 0 && metadata.updatedAtMs == metadata.createdAtMs)
            #expect(metadata.updatedByIdentityID == UUID(uuidString: identity)?.bytes)
            #expect(try await service.secret(named: "weather-api.key", tenant: TenantID(tenant)) == first)

            // Replacing keeps the creation time and replaces value, description and endpoint whole.
            try await Task.sleep(for: .milliseconds(5))
            let replaced = try #require(try await set(service, tenant, "weather-api.key", second).connectorSecret)
            #expect(replaced.createdAtMs == metadata.createdAtMs && replaced.updatedAtMs > metadata.updatedAtMs)
            #expect(replaced.valueLength == UInt32(second.count) && replaced.description.isEmpty && replaced.endpoint.isEmpty)
            #expect(replaced.updatedByIdentityID != metadata.updatedByIdentityID)
            #expect(try await service.secret(named: "weather-api.key", tenant: TenantID(tenant)) == second)

            _ = try await set(service, tenant, "bms.password", other, description: "BMS")
            let listed = try await list(service, tenant)
            #expect(listed.connectorSecrets.map(\.name) == ["bms.password", "weather-api.key"])
            #expect(listed.connectorSecrets.map(\.valueLength) == [16, UInt32(second.count)])
            let listedBytes = listed.serializedBytes()
            #expect(!contains(listedBytes, first) && !contains(listedBytes, second) && !contains(listedBytes, other))
            // The check above can fail: the same bytes do show up when a value is in a message.
            var probe = ImsV1.SetConnectorSecretRequest()
            probe.value = second
            #expect(contains(probe.serializedBytes(), second))

            let deleted = try await delete(service, tenant, "weather-api.key")
            #expect(deleted.connectorSecret?.name == "weather-api.key" && !contains(deleted.serializedBytes(), second))
            #expect(try await list(service, tenant).connectorSecrets.map(\.name) == ["bms.password"])
            #expect(try await service.secret(named: "weather-api.key", tenant: TenantID(tenant)) == nil)
            let again = await failure { _ = try await delete(service, tenant, "weather-api.key") }
            #expect(again?.code == Self.notFound)
            #expect(try await service.secret(named: "bms.password", tenant: TenantID(tenant)) == other)
        }
    }

    @Test func anotherTenantsSecretIsNotFound() async throws {
        try await Fixture.with { fixture in
            let service = service(fixture)
            let (tenantA, _) = try await fixture.makeTenant()
            let (tenantB, _) = try await fixture.makeTenant()
            let valueA = randomBytes(32)
            _ = try await set(service, tenantA, "erp.token", valueA)

            #expect(try await list(service, tenantB).connectorSecrets.isEmpty)
            let deleted = await failure { _ = try await delete(service, tenantB, "erp.token") }
            #expect(deleted?.code == Self.notFound)
            #expect(try await service.secret(named: "erp.token", tenant: TenantID(tenantB)) == nil)

            // The same name in tenant B is B's own secret; A's stays as it was.
            let valueB = randomBytes(32)
            let createdB = try #require(try await set(service, tenantB, "erp.token", valueB).connectorSecret)
            #expect(createdB.tenantID == tenantB.bytes)
            #expect(try await service.secret(named: "erp.token", tenant: TenantID(tenantA)) == valueA)
            #expect(try await service.secret(named: "erp.token", tenant: TenantID(tenantB)) == valueB)
            #expect(try await list(service, tenantA).connectorSecrets.count == 1)
        }
    }

    @Test func malformedFieldsAreInvalidArguments() async throws {
        try await Fixture.with { fixture in
            let service = service(fixture)
            let (tenant, _) = try await fixture.makeTenant()
            let value = randomBytes(8)
            let badNames = ["", String(repeating: "a", count: 65), "Weather", "has space", "a/b", "ключ", "nul\u{0}"]
            for name in badNames {
                let outcome = await failure { _ = try await set(service, tenant, name, value) }
                #expect(outcome?.code == Self.invalidArgument, "name \(name.debugDescription)")
                let deleted = await failure { _ = try await delete(service, tenant, name) }
                #expect(deleted?.code == Self.invalidArgument, "delete name \(name.debugDescription)")
            }
            for bad in [[UInt8](), randomBytes(8_193)] {
                let outcome = await failure { _ = try await set(service, tenant, "key", bad) }
                #expect(outcome?.code == Self.invalidArgument, "value of \(bad.count) bytes")
            }
            for description in [String(repeating: "d", count: 201), "line\nbreak", "nul\u{0}"] {
                let outcome = await failure { _ = try await set(service, tenant, "key", value, description: description) }
                #expect(outcome?.code == Self.invalidArgument, "description \(description.prefix(20).debugDescription)")
            }
            let longURL = "https://example.com/" + String(repeating: "p", count: 2_029)
            for endpoint in ["not a url", "example.com/path", "https://user:password@example.com/", "https://token@example.com",
                             "https:///no-host", "https://exa mple.com", "https://example.com/\u{7}", longURL] {
                let outcome = await failure { _ = try await set(service, tenant, "key", value, endpoint: endpoint) }
                #expect(outcome?.code == Self.invalidArgument, "endpoint \(endpoint.prefix(40).debugDescription)")
            }
            #expect(try await list(service, tenant).connectorSecrets.isEmpty)

            // The limits themselves are fine.
            let longest = String(repeating: "z", count: 64)
            let maximal = try await set(service, tenant, longest, randomBytes(8_192), description: String(repeating: "d", count: 200),
                                        endpoint: "https://example.com/" + String(repeating: "p", count: 2_028))
            #expect(maximal.connectorSecret?.valueLength == 8_192 && maximal.connectorSecret?.endpoint.count == 2_048)
            _ = try await set(service, tenant, "a.b_c-0", [0], endpoint: "mqtts://broker.example:8883")
            #expect(try await service.secret(named: "a.b_c-0", tenant: TenantID(tenant)) == [0])
            #expect(try await service.secret(named: "Not A Name", tenant: TenantID(tenant)) == nil)
        }
    }

    @Test func aTenantHoldsAtMostOneHundredSecrets() async throws {
        try await Fixture.with { fixture in
            let service = service(fixture)
            let (tenant, _) = try await fixture.makeTenant()
            for index in 0..<ConnectorSecretRules.maxPerTenant {
                _ = try await set(service, tenant, "key-\(index)", [UInt8(truncatingIfNeeded: index)])
            }
            let outcome = await failure { _ = try await set(service, tenant, "one-more", [1]) }
            #expect(outcome?.code == Self.resourceExhausted)
            // Replacing one is no new secret.
            _ = try await set(service, tenant, "key-0", [2, 3])
            #expect(try await service.secret(named: "key-0", tenant: TenantID(tenant)) == [2, 3])
            #expect(try await list(service, tenant).connectorSecrets.count == ConnectorSecretRules.maxPerTenant)
        }
    }

    @Test func theDatabaseHoldsOnlyCiphertext() async throws {
        try await Fixture.with { fixture in
            let service = service(fixture)
            let (tenant, _) = try await fixture.makeTenant()
            let value = Array("sk_live_plain-marker-93c1".utf8) + randomBytes(32)
            let description = "Description marker 5e2b"
            let endpoint = "https://endpoint-marker-a7f4.example/"
            _ = try await set(service, tenant, "crm.key", value, description: description, endpoint: endpoint)
            _ = try await set(service, tenant, "other.key", randomBytes(24))

            let admin = try PGConnection(conninfo: fixture.database.adminConninfo)
            let row = try admin.query(
                "SELECT value_enc, description_enc, endpoint_enc, value_length FROM wattline.connector_secrets WHERE name = 'crm.key'")[0]
            let sealed = try row.bytes(0)
            #expect(sealed.count > value.count && !contains(sealed, value))
            let sealedDescription = try row.bytes(1)
            let sealedEndpoint = try row.bytes(2)
            #expect(!contains(sealedDescription, Array(description.utf8)) && !contains(sealedEndpoint, Array(endpoint.utf8)))
            #expect(try row.int64(3) == Int64(value.count))
            // The whole table as text: no value (neither raw nor hex), no description, no endpoint.
            let dump = try admin.query("SELECT string_agg(t::text, ' ') FROM wattline.connector_secrets t")[0].string(0)
            for marker in ["sk_live_plain-marker", hex(value), description, endpoint] {
                #expect(!dump.contains(marker), "the table shows \(marker.prefix(12))…")
            }
            #expect(dump.contains("crm.key"))

            // The sealed value is bound to its row: copied onto another secret it does not open there.
            try admin.query(
                "UPDATE wattline.connector_secrets SET value_enc = $1 WHERE name = 'other.key'", [.bytea(sealed)])
            await #expect(throws: (any Error).self) {
                _ = try await service.secret(named: "other.key", tenant: TenantID(tenant))
            }
            #expect(try await service.secret(named: "crm.key", tenant: TenantID(tenant)) == value)
        }
    }

    @Test func theServiceRegistersItsThreeMethods() async throws {
        try await Fixture.with { fixture in
            var router = Router()
            service(fixture).register(in: &router)
            #expect(router.paths == [
                ImsV1.ConnectorSecretService.DeleteConnectorSecret.path, ImsV1.ConnectorSecretService.ListConnectorSecrets.path,
                ImsV1.ConnectorSecretService.SetConnectorSecret.path,
            ])
        }
    }
}

/// Whether `needle` occurs in `haystack` as a contiguous run.
func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    guard !needle.isEmpty, needle.count <= haystack.count else { return needle.isEmpty }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
        if Array(haystack[start..<(start + needle.count)]) == needle { return true }
    }
    return false
}

func randomBytes(_ count: Int) -> [UInt8] {
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { _ in generator.next() }
}
