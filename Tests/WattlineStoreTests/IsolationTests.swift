import Foundation
import Testing
import WattlineStore
import WattlineTestSupport

/// Tenant isolation is enforced by PostgreSQL itself (FORCE ROW LEVEL SECURITY), not by careful SQL.
@Suite("Tenant isolation")
struct IsolationTests {
    let a = TenantID(UUID())
    let b = TenantID(UUID())

    private func seed(_ store: Store) async throws {
        for (tenant, sites) in [(a, ["A1", "A2"]), (b, ["B1"])] {
            try await store.transaction(tenant: tenant) { tx in
                try tx.query("INSERT INTO wattline.tenants (tenant_id, name_enc) VALUES ($1, $2)", [.uuid(tenant.uuid), .bytea([1])])
                for site in sites {
                    try tx.query(
                        "INSERT INTO wattline.sites (tenant_id, site_id, name_enc, time_zone) VALUES ($1, $2, $3, 'Europe/Paris')",
                        [.uuid(tenant.uuid), .uuid(UUID()), .bytea(Array(site.utf8))])
                }
            }
        }
    }

    @Test("unscoped SQL inside tenant A's scope sees only A's rows")
    func scoped() async throws {
        try await withStore { store, _ in
            try await seed(store)
            let names = try await store.transaction(tenant: a) { tx in
                try tx.query("SELECT name_enc FROM wattline.sites").rows.map { String(decoding: try $0.bytes(0), as: UTF8.self) }
            }
            #expect(names.sorted() == ["A1", "A2"])
            let tenants = try await store.transaction(tenant: b) { tx in try tx.query("SELECT count(*) FROM wattline.tenants")[0].int64(0) }
            #expect(tenants == 1)
        }
    }

    @Test("without a scope, tenant tables return nothing")
    func unscoped() async throws {
        try await withStore { store, _ in
            try await seed(store)
            let count = try await store.platformTransaction { tx in try tx.query("SELECT count(*) FROM wattline.sites")[0].int64(0) }
            #expect(count == 0)
            // A raw connection as the server's role, no transaction, no scope at all.
            let raw = try await store.pool.run { connection in
                try connection.query("SELECT count(*) FROM wattline.sites")[0].int64(0)
            }
            #expect(raw == 0)
        }
    }

    @Test("writing another tenant's row from A's scope is refused by the database")
    func crossTenantWrite() async throws {
        try await withStore { store, _ in
            try await seed(store)
            let error = await #expect(throws: PGError.self) {
                try await store.transaction(tenant: a) { [b] tx in
                    try tx.query(
                        "INSERT INTO wattline.sites (tenant_id, site_id, name_enc, time_zone) VALUES ($1, $2, $3, 'UTC')",
                        [.uuid(b.uuid), .uuid(UUID()), .bytea([0])])
                }
            }
            #expect(error?.code == .insufficientPrivilege)
            let updated = try await store.transaction(tenant: a) { tx in
                try tx.query("UPDATE wattline.sites SET country = 'FR'").affectedRows
            }
            #expect(updated == 2)
        }
    }

    @Test("the server's role owns nothing, bypasses nothing and cannot read the identity schema")
    func leastPrivilege() async throws {
        try await withStore { store, database in
            let (owned, bypass) = try await store.pool.run { connection in
                let owned = try connection.query("""
                    SELECT count(*) FROM pg_tables WHERE tableowner = current_user
                    """)[0].int64(0)
                let bypass = try connection.query("SELECT rolbypassrls OR rolsuper FROM pg_roles WHERE rolname = current_user")[0].bool(0)
                return (owned, bypass)
            }
            #expect(owned == 0 && bypass == false)
            let error = await #expect(throws: PGError.self) {
                try await store.pool.run { connection in try connection.query("SELECT count(*) FROM ims.identities") }
            }
            #expect(error?.code == .insufficientPrivilege)
            // And the identity role cannot read functional data.
            let ims = try PGConnection(conninfo: database.imsConninfo)
            #expect(throws: PGError.self) { try ims.query("SELECT count(*) FROM wattline.sites") }
            #expect(try ims.query("SELECT count(*) FROM ims.identities")[0].int64(0) == 0)
            // Every tenant-owned table forces row-level security.
            let admin = try PGConnection(conninfo: database.adminConninfo)
            let unforced = try admin.query("""
                SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'tenant_id'
                WHERE n.nspname = 'wattline' AND c.relkind = 'r' AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
                """).rows.map { try $0.string(0) }
            #expect(unforced.isEmpty, "tables without forced RLS: \(unforced)")
            // Each by a policy that compares with the tenant as a subquery (migration 0012), so that
            // plans do not depend on the statistics of whichever tenant is asking.
            let policies = try admin.query("""
                SELECT tablename::text, qual FROM pg_policies WHERE schemaname = 'wattline' AND policyname = 'tenant_isolation'
                """).rows.map { (try $0.string(0), try $0.string(1)) }
            #expect(policies.count >= 13)
            for (table, qual) in policies {
                #expect(qual.contains("SELECT wattline.current_tenant()") || qual.contains("SELECT current_tenant()"), "\(table): \(qual)")
            }
        }
    }

    @Test("a superuser connection is refused by Store.open")
    func refusesSuperuser() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let error = await #expect(throws: PGError.self) {
            _ = try await Store.open(.init(conninfo: database.adminConninfo, startupTimeout: .seconds(2)))
        }
        #expect(error?.code == .insufficientPrivilege)
    }
}
