import Foundation
import Testing
import WattlineCrypto
import WattlineStore
import WattlineTestSupport

/// Envelope encryption at rest, checked against the raw database.
@Suite("Encryption at rest")
struct EncryptionTests {
    let tenant = TenantID(UUID())
    let master = try! MasterKey(SecretKey.random())

    private func rowBytes(_ id: UUID) -> [UInt8] { withUnsafeBytes(of: id.uuid) { Array($0) } }

    /// Creates the tenant and a site whose name is sealed; returns the site id.
    private func seedSite(_ store: Store, _ keyring: TenantKeyring, name: String) async throws -> UUID {
        let site = UUID()
        try await store.transaction(tenant: tenant) { tx in
            if try tx.query("SELECT 1 FROM wattline.tenants").count == 0 {
                try tx.query("INSERT INTO wattline.tenants (tenant_id, name_enc) VALUES ($1, $2)",
                             [.uuid(tx.tenant.uuid), .bytea(try keyring.seal(Array("Acme".utf8), tx, table: "tenants", column: "name_enc", row: tx.tenant.bytes))])
            }
            let sealed = try keyring.seal(Array(name.utf8), tx, table: "sites", column: "name_enc", row: rowBytes(site))
            try tx.query("INSERT INTO wattline.sites (tenant_id, site_id, name_enc, time_zone) VALUES ($1, $2, $3, 'Europe/Paris')",
                         [.uuid(tx.tenant.uuid), .uuid(site), .bytea(sealed)])
        }
        return site
    }

    private func siteName(_ store: Store, _ keyring: TenantKeyring, _ site: UUID, tenant: TenantID? = nil) async throws -> String {
        try await store.transaction(tenant: tenant ?? self.tenant) { tx in
            let sealed = try tx.query("SELECT name_enc FROM wattline.sites WHERE site_id = $1", [.uuid(site)])[0].bytes(0)
            return String(decoding: try keyring.open(sealed, tx, table: "sites", column: "name_enc", row: rowBytes(site)), as: UTF8.self)
        }
    }

    @Test("sealed values round-trip and the raw database holds no plaintext or key")
    func roundTrip() async throws {
        try await withStore { store, database in
            let keyring = TenantKeyring(master: master)
            let site = try await seedSite(store, keyring, name: "Lyon Part-Dieu tower")
            #expect(try await siteName(store, keyring, site) == "Lyon Part-Dieu tower")
            let admin = try PGConnection(conninfo: database.adminConninfo)
            let dump = try admin.query("SELECT s.name_enc, k.wrapped_key FROM wattline.sites s JOIN wattline.data_keys k USING (tenant_id)")[0]
            let raw = try dump.bytes(0) + dump.bytes(1)
            #expect(!raw.containsSubsequence(Array("Lyon".utf8)))
            #expect(try dump.bytes(1).count == 32 + AEAD.overhead, "the stored data key is a sealed box, not 32 raw bytes")
        }
    }

    @Test("a ciphertext moved to another row does not open")
    func movedCiphertext() async throws {
        try await withStore { store, _ in
            let keyring = TenantKeyring(master: master)
            let first = try await seedSite(store, keyring, name: "first")
            let second = try await seedSite(store, keyring, name: "second")
            try await store.transaction(tenant: tenant) { tx in
                try tx.query("UPDATE wattline.sites SET name_enc = (SELECT name_enc FROM wattline.sites WHERE site_id = $1) WHERE site_id = $2",
                             [.uuid(first), .uuid(second)])
            }
            let error = await #expect(throws: CryptoError.self) { _ = try await siteName(store, keyring, second) }
            #expect(error?.code == .authenticationFailed)
            #expect(try await siteName(store, keyring, first) == "first")
        }
    }

    @Test("crypto-shredding: once the tenant's keys are deleted its data is unrecoverable")
    func shredding() async throws {
        try await withStore { store, database in
            let keyring = TenantKeyring(master: master)
            let site = try await seedSite(store, keyring, name: "to be forgotten")
            try await store.transaction(tenant: tenant) { tx in try keyring.shred(tx) }
            await #expect(throws: KeyringError.self) { _ = try await siteName(store, keyring, site) }
            // Even an operator with the master key and full database access cannot recover it:
            // the only wrapped copy of the data key is gone, and no key opens the ciphertext.
            let admin = try PGConnection(conninfo: database.adminConninfo)
            #expect(try admin.query("SELECT count(*) FROM wattline.data_keys WHERE tenant_id = $1", [.uuid(tenant.uuid)])[0].int64(0) == 0)
            let sealed = try admin.query("SELECT name_enc FROM wattline.sites WHERE site_id = $1", [.uuid(site)])[0].bytes(0)
            let ad = try AssociatedData(tenant: tenant.bytes, table: "sites", column: "name_enc", row: rowBytes(site))
            #expect(throws: CryptoError.self) { try AEAD.open(Array(sealed.dropFirst(4)), key: try SecretKey.random(), associatedData: ad.bytes) }
            // A fresh keyring (another server node, no cache) cannot either.
            await #expect(throws: KeyringError.self) { _ = try await siteName(store, TenantKeyring(master: master), site) }
        }
    }

    @Test("another tenant cannot open a tenant's values even with the ciphertext in hand")
    func otherTenant() async throws {
        try await withStore { store, _ in
            let keyring = TenantKeyring(master: master)
            let site = try await seedSite(store, keyring, name: "secret site")
            let sealed = try await store.transaction(tenant: tenant) { tx in
                try tx.query("SELECT name_enc FROM wattline.sites WHERE site_id = $1", [.uuid(site)])[0].bytes(0)
            }
            let intruder = TenantID(UUID())
            await #expect(throws: (any Error).self) {
                try await store.transaction(tenant: intruder) { tx in
                    _ = try keyring.open(sealed, tx, table: "sites", column: "name_enc", row: rowBytes(site))
                }
            }
        }
    }

    @Test("tenant key rotation keeps old values readable and re-sealing moves them to the new key")
    func tenantRotation() async throws {
        try await withStore { store, _ in
            let keyring = TenantKeyring(master: master)
            let old = try await seedSite(store, keyring, name: "before rotation")
            let newKey = try await store.transaction(tenant: tenant) { tx in try keyring.rotateKey(tx) }
            #expect(newKey == 2)
            let fresh = try await seedSite(store, keyring, name: "after rotation")
            #expect(try await siteName(store, keyring, old) == "before rotation")
            let resealed = try await store.transaction(tenant: tenant) { tx in
                try keyring.reseal(tx, table: "sites", column: "name_enc", rowColumn: "site_id")
            }
            #expect(resealed == 1)
            let keyIDs = try await store.transaction(tenant: tenant) { tx in
                try tx.query("SELECT DISTINCT substring(name_enc from 1 for 4) FROM wattline.sites").rows.map { try $0.bytes(0) }
            }
            #expect(keyIDs == [[0, 0, 0, 2]])
            #expect(try await siteName(store, keyring, old) == "before rotation")
            #expect(try await siteName(store, keyring, fresh) == "after rotation")
        }
    }

    @Test("master key rotation re-wraps every data key without touching the data")
    func masterRotation() async throws {
        try await withStore { store, database in
            let keyring = TenantKeyring(master: master)
            let site = try await seedSite(store, keyring, name: "survives rotation")
            let before = try PGConnection(conninfo: database.adminConninfo).query("SELECT name_enc FROM wattline.sites")[0].bytes(0)
            let newMaster = try MasterKey(SecretKey.random())
            #expect(try TenantKeyring.rotateMaster(adminConninfo: database.adminConninfo, from: master, to: newMaster) == 1)
            #expect(try TenantKeyring.rotateMaster(adminConninfo: database.adminConninfo, from: master, to: newMaster) == 0)
            let after = try PGConnection(conninfo: database.adminConninfo).query("SELECT name_enc FROM wattline.sites")[0].bytes(0)
            #expect(before == after, "sealed data must not change")
            #expect(try await siteName(store, TenantKeyring(master: newMaster), site) == "survives rotation")
            await #expect(throws: CryptoError.self) { _ = try await siteName(store, TenantKeyring(master: master), site) }
        }
    }
}

extension Array where Element: Equatable {
    func containsSubsequence(_ needle: [Element]) -> Bool {
        guard !needle.isEmpty, needle.count <= count else { return needle.isEmpty }
        return (0...(count - needle.count)).contains { Array(self[$0..<($0 + needle.count)]) == needle }
    }
}

@Suite("Identity-service encryption")
struct IMSEncryptionTests {
    @Test("the IMS role seals with its own key, finds values by blind index, and master rotation covers its key")
    func imsKeys() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let master = try MasterKey(SecretKey.random())
        let ims = try PGConnection(conninfo: database.imsConninfo)
        let keyring = IMSKeyring(master: master)
        let identity = UUID()
        let row = withUnsafeBytes(of: identity.uuid) { Array($0) }
        let email = Array("facility.manager@example.com".utf8)
        let sealed = try keyring.seal(email, ims, table: "identities", column: "email_enc", row: row)
        let index = try keyring.blindIndex(email, ims)
        try ims.query("INSERT INTO ims.identities (identity_id, email_enc, email_index, key_id) VALUES ($1, $2, $3, 1)",
                      [.uuid(identity), .bytea(sealed), .bytea(index)])
        // Found by index without decrypting; a different address gives a different index.
        let found = try ims.query("SELECT identity_id FROM ims.identities WHERE email_index = $1",
                                  [.bytea(try keyring.blindIndex(email, ims))])[0].uuid(0)
        #expect(found == identity)
        #expect(try keyring.blindIndex(Array("other@example.com".utf8), ims) != index)
        #expect(!sealed.containsSubsequence(Array("facility".utf8)))
        #expect(try keyring.open(sealed, ims, table: "identities", column: "email_enc", row: row) == email)
        // The server's role cannot read the identity service's keys.
        let app = try PGConnection(conninfo: database.appConninfo)
        #expect(throws: PGError.self) { try app.query("SELECT count(*) FROM ims.data_keys") }
        // Master rotation re-wraps the IMS key; a keyring with the new master still opens the value.
        let newMaster = try MasterKey(SecretKey.random())
        #expect(try TenantKeyring.rotateMaster(adminConninfo: database.adminConninfo, from: master, to: newMaster) == 1)
        #expect(try IMSKeyring(master: newMaster).open(sealed, ims, table: "identities", column: "email_enc", row: row) == email)
    }
}
