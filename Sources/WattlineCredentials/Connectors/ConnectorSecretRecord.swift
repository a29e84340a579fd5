import Foundation
import WattlineProtos
import WattlineStore

/// One row of `wattline.connector_secrets` without its value (which only
/// `ConnectorSecretService.secret(named:tenant:)` opens).
struct ConnectorSecretRecord: Sendable {
    static let table = "connector_secrets"

    let tenantID: UUID
    let name: String
    let secretID: UUID
    let valueLength: Int64
    let descriptionSealed: [UInt8]?
    let endpointSealed: [UInt8]?
    let createdAt: Int64
    let updatedAt: Int64
    let updatedBy: UUID?

    /// The columns `init(row:)` reads, in order (value_enc is not among them).
    static let columns = """
        tenant_id, name, secret_id, value_length, description_enc, endpoint_enc, created_at, updated_at, updated_by
        """

    init(row: PGRow) throws {
        tenantID = try row.uuid(0)
        name = try row.string(1)
        secretID = try row.uuid(2)
        valueLength = try row.int64(3)
        descriptionSealed = try row.optionalBytes(4)
        endpointSealed = try row.optionalBytes(5)
        createdAt = try row.timestampMs(6)
        updatedAt = try row.timestampMs(7)
        updatedBy = try row.optionalUUID(8)
    }

    /// The metadata, description and endpoint opened with the tenant's key.
    func proto(_ tx: borrowing TenantTransaction, keyring: TenantKeyring) throws -> ImsV1.ConnectorSecret {
        var secret = ImsV1.ConnectorSecret()
        secret.tenantID = tenantID.bytes
        secret.name = name
        secret.description = try Self.openText(descriptionSealed, "description_enc", secretID, tx, keyring)
        secret.endpoint = try Self.openText(endpointSealed, "endpoint_enc", secretID, tx, keyring)
        secret.valueLength = UInt32(clamping: valueLength)
        secret.createdAtMs = createdAt
        secret.updatedAtMs = updatedAt
        secret.updatedByIdentityID = updatedBy?.bytes ?? []
        return secret
    }

    /// Empty text is stored as NULL (nothing to seal).
    static func sealText(
        _ text: String, _ column: String, _ secretID: UUID, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring
    ) throws -> PGValue {
        text.isEmpty ? .null : .bytea(try keyring.seal(Array(text.utf8), tx, table: table, column: column, row: secretID.bytes))
    }

    private static func openText(
        _ sealed: [UInt8]?, _ column: String, _ secretID: UUID, _ tx: borrowing TenantTransaction, _ keyring: TenantKeyring
    ) throws -> String {
        guard let sealed else { return "" }
        return String(decoding: try keyring.open(sealed, tx, table: table, column: column, row: secretID.bytes), as: UTF8.self)
    }
}
