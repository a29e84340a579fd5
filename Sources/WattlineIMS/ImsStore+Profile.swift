import Foundation
import WattlineProtos
import WattlineStore

/// Profiles: a serialized `ImsV1.Profile` (display name, phone, locale, updated_at_ms) sealed in
/// `ims.identities.profile_enc`; e-mail and creation time come from their own columns.
extension ImsStore {
    struct ProfileChange: Sendable {
        var displayName: String?
        var phone: String?
        var locale: String?
    }

    /// Applies the set fields under a row lock; nil when the identity is gone.
    func updateProfile(_ identityID: UUID, _ change: ProfileChange, now: Int64) async throws -> Person? {
        let keyring = keyring
        return try await transaction { connection in
            guard var person = try Self.person(connection, keyring, identityID, lock: true) else { return nil }
            var profile = person.profile ?? ImsV1.Profile()
            if let name = change.displayName { profile.displayName = name }
            if let phone = change.phone { profile.phone = phone }
            if let locale = change.locale { profile.locale = locale }
            profile.updatedAtMs = now
            let sealed = try keyring.seal(profile.serializedBytes(), connection, table: "identities", column: "profile_enc",
                                          row: identityID.bytes)
            try connection.query("UPDATE ims.identities SET profile_enc = $2 WHERE identity_id = $1",
                                 [.uuid(identityID), .bytea(sealed)])
            person.profile = profile
            return person
        }
    }

    /// E-mail and display name of the identities among `ids` that exist and are not erased.
    func summaries(_ ids: [UUID]) async throws -> [(UUID, email: String, displayName: String)] {
        guard !ids.isEmpty else { return [] }
        let keyring = keyring
        return try await store.pool.run { connection in
            try connection.query("""
                SELECT identity_id, email_enc, profile_enc FROM ims.identities
                WHERE identity_id = ANY($1::text[]::uuid[]) AND erased_at IS NULL
                """, [.textArray(ids.map(\.lowercased))]).rows.map { row in
                let id = try row.uuid(0)
                let email = try keyring.open(try row.bytes(1), connection, table: "identities", column: "email_enc", row: id.bytes)
                var name = ""
                if let sealed = try row.optionalBytes(2) {
                    let bytes = try keyring.open(sealed, connection, table: "identities", column: "profile_enc", row: id.bytes)
                    name = try bytes.withUnsafeBytes { try ImsV1.Profile(serializedBytes: $0, limits: .default) }.displayName
                }
                return (id, String(decoding: email, as: UTF8.self), name)
            }
        }
    }
}
