import Foundation
import WattlineStore
import WattlineTestSupport

/// Runs `body` with a fresh database and a store connected as the unprivileged role.
func withStore<T>(_ body: (Store, TestDatabase) async throws -> T) async throws -> T {
    let database = try TestDatabase.create()
    defer { database.drop() }
    let store = try await Store.open(.init(conninfo: database.appConninfo, poolSize: 3, startupTimeout: .seconds(5)))
    defer { store.shutdown() }
    return try await body(store, database)
}
