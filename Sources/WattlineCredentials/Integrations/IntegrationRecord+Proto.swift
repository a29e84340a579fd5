import WattlineProtos
import WattlineStore

extension CredentialRecord {
    /// The integration's view of the row; `name` is the opened label.
    func integrationProto(name: String) -> ImsV1.IntegrationCredential {
        var credential = ImsV1.IntegrationCredential()
        credential.credentialID = id.bytes
        credential.tenantID = tenantID.bytes
        credential.name = name
        credential.role = role == "technician" ? .technician : .viewer
        credential.createdByIdentityID = createdBy?.bytes ?? []
        credential.createdAtMs = createdAt
        credential.expiresAtMs = expiresAt ?? 0
        credential.lastUsedAtMs = lastUsedAt ?? 0
        credential.revokedAtMs = revokedAt ?? 0
        credential.secretPrefix = secretPrefix ?? ""
        return credential
    }

    /// The label, opened with the tenant's key.
    func integrationName(_ tx: borrowing TenantTransaction, keyring: TenantKeyring) throws -> String {
        guard let sealed = descriptionSealed else { return "" }
        return String(decoding: try keyring.open(sealed, tx, table: "credentials", column: "description_enc", row: id.bytes), as: UTF8.self)
    }
}
