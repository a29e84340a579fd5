import Foundation
import Testing
import WattlineStore
import WattlineTestSupport

@Suite("Migrations")
struct MigrationTests {
    @Test("an empty database migrates to the full schema, and migrating again does nothing")
    func fromEmpty() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try PGConnection(conninfo: database.adminConninfo)
        try admin.execute("DROP SCHEMA wattline CASCADE; DROP SCHEMA ims CASCADE; DROP SCHEMA wattline_meta CASCADE")
        let applied = try Migrator.migrate(conninfo: database.adminConninfo)
        #expect(applied == (try Migrator.bundled()).map(\.name))
        #expect(try Migrator.migrate(conninfo: database.adminConninfo).isEmpty)
        let tables = try admin.query("SELECT count(*) FROM pg_tables WHERE schemaname IN ('wattline', 'ims')")[0].int64(0)
        #expect(tables >= 20)
        // Every tenant-owned table leads its primary key with tenant_id.
        let misfits = try admin.query("""
            SELECT c.relname::text FROM pg_index i
            JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace
            JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = i.indkey[0]
            WHERE i.indisprimary AND n.nspname = 'wattline'
              AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant_id')
              AND a.attname <> 'tenant_id'
            """).rows.map { try $0.string(0) }
        #expect(misfits.isEmpty, "primary keys not led by tenant_id: \(misfits)")
    }

    @Test("a migration changed after it was applied is an error naming it")
    func changedMigration() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        var migrations = try Migrator.bundled()
        let original = migrations[1]
        migrations[1] = Migration(version: original.version, name: original.name, sql: original.sql + "\n-- edited")
        let error = #expect(throws: PGError.self) { try Migrator.migrate(conninfo: database.adminConninfo, migrations: migrations) }
        #expect(error?.code == .migration)
        #expect(error?.message.contains(original.name) == true)
    }

    @Test("a database ahead of the build is refused")
    func unknownMigration() throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let migrations = Array(try Migrator.bundled().dropLast())
        let error = #expect(throws: PGError.self) { try Migrator.migrate(conninfo: database.adminConninfo, migrations: migrations) }
        #expect(error?.message.contains("does not know") == true)
    }

    @Test("concurrent migrators apply each migration once")
    func concurrent() async throws {
        let database = try TestDatabase.create()
        defer { database.drop() }
        let admin = try PGConnection(conninfo: database.adminConninfo)
        try admin.execute("DROP SCHEMA wattline CASCADE; DROP SCHEMA ims CASCADE; DROP SCHEMA wattline_meta CASCADE")
        let conninfo = database.adminConninfo
        let results = try await withThrowingTaskGroup(of: [String].self) { group in
            for _ in 0..<3 { group.addTask { try Migrator.migrate(conninfo: conninfo) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(results.flatMap { $0 }.sorted() == (try Migrator.bundled()).map(\.name).sorted())
    }
}
