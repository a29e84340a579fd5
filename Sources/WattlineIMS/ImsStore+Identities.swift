import Foundation
import WattlineProtos
import WattlineStore

extension ImsStore {
    /// Inserts an identity: the normalised e-mail sealed and blind-indexed, the argon2id PHC
    /// string, the profile sealed (a serialized `ImsV1.Profile`). A taken address is the unique
    /// violation of `email_index`.
    static func insertIdentity(
        _ connection: PGConnection, keyring: IMSKeyring, identityID: UUID, normalizedEmail: String,
        passwordHash: String?, profile: ImsV1.Profile?, platformOperator: Bool, now: Int64? = nil
    ) throws {
        let row = identityID.bytes
        let index = try keyring.blindIndex(Array(normalizedEmail.utf8), connection)
        let emailEnc = try keyring.seal(Array(normalizedEmail.utf8), connection, table: "identities", column: "email_enc", row: row)
        let profileEnc: PGValue = try profile.map {
            .bytea(try keyring.seal($0.serializedBytes(), connection, table: "identities", column: "profile_enc", row: row))
        } ?? .null
        let keyID = try keyring.ensureKey(connection)
        try connection.query("""
            INSERT INTO ims.identities (identity_id, email_enc, email_index, password_hash, profile_enc, platform_operator, key_id, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, COALESCE($8, now()))
            """, [.uuid(identityID), .bytea(emailEnc), .bytea(index), passwordHash.map { .text($0) } ?? .null, profileEnc,
                  .bool(platformOperator), .int32(keyID), now.map { .timestampMs($0) } ?? .null])
    }

    /// The identity (not erased) with this normalised address, if any.
    func identityID(forEmail normalizedEmail: String) async throws -> UUID? {
        let keyring = keyring
        return try await store.pool.run { connection in
            let index = try keyring.blindIndex(Array(normalizedEmail.utf8), connection)
            return try connection.query(
                "SELECT identity_id FROM ims.identities WHERE email_index = $1 AND erased_at IS NULL", [.bytea(index)]
            ).first?.uuid(0)
        }
    }

    /// Ends every open session of `identityID` except `keeping`, for `reason`; returns their ids.
    static func revokeSessions(_ connection: PGConnection, of identityID: UUID, keeping: UUID?, reason: String, now: Int64) throws -> [UUID] {
        try connection.query("""
            UPDATE ims.sessions SET revoked_at = $2, revoked_reason = $4, successor_enc = NULL
            WHERE identity_id = $1 AND revoked_at IS NULL AND expires_at > $2 AND session_id IS DISTINCT FROM $3
            RETURNING session_id
            """, [.uuid(identityID), .timestampMs(now), keeping.map { .uuid($0) } ?? .null, .text(reason)]).rows.map { try $0.uuid(0) }
    }
}
