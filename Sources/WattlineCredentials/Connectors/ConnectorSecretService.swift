import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.ims.v1.ConnectorSecretService`: secrets Wattline presents to other systems on a
/// tenant's behalf (issue #5, Deliver 6), and `secret(named:tenant:)`, the server's own way to
/// read one when it calls out.
///
/// A value is write-only over the API: responses carry metadata and the value's length only. It
/// is stored sealed with the tenant's data key in `value_enc`, bound to tenant, table, column and
/// the row's `secret_id`, so it opens nowhere else and goes with the tenant's key.
public final class ConnectorSecretService: Sendable {
    let store: Store
    let keyring: TenantKeyring

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
    }

    public func register(in router: inout Router) {
        router.unary(ImsV1.ConnectorSecretService.SetConnectorSecret.self) { [self] request, context in
            try await setSecret(request, context)
        }
        router.unary(ImsV1.ConnectorSecretService.ListConnectorSecrets.self) { [self] request, context in
            try await listSecrets(request, context)
        }
        router.unary(ImsV1.ConnectorSecretService.DeleteConnectorSecret.self) { [self] request, context in
            try await deleteSecret(request, context)
        }
    }

    // MARK: The server's own use

    /// The value of the tenant's secret `name`, opened in the tenant's scope; nil when the tenant
    /// has no such secret. For presenting it to its endpoint only: never log it, never return it.
    public func secret(named name: String, tenant: TenantID) async throws -> [UInt8]? {
        guard ConnectorSecretRules.isValidName(name) else { return nil }
        let keyring = keyring
        return try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query(
                "SELECT secret_id, value_enc FROM wattline.connector_secrets WHERE name = $1", [.text(name)]).first
            else { return nil }
            let secretID = try row.uuid(0)
            return try keyring.open(
                try row.bytes(1), tx, table: ConnectorSecretRecord.table, column: "value_enc", row: secretID.bytes)
        }
    }

    // MARK: Set, list, delete

    func setSecret(_ request: ImsV1.SetConnectorSecretRequest, _ context: CallContext) async throws -> ImsV1.SetConnectorSecretResponse {
        let tenant = try RequestID.tenant(context)
        try ConnectorSecretRules.checkName(request.name)
        try ConnectorSecretRules.checkValue(request.value)
        try TextRules.check(request.description, "description", max: ConnectorSecretRules.maxDescription)
        try ConnectorSecretRules.checkEndpoint(request.endpoint)
        let updatedBy: PGValue = if case .person(let identityID, _, _)? = context.principal as? Principal,
                                    let id = UUID(uuidString: identityID) {
            .uuid(id)
        } else {
            .null
        }
        let now = Clock.nowMs()
        let keyring = keyring
        let secret = try await store.transaction(tenant: tenant) { tx in
            // One Set of the tenant at a time: the count limit and create-or-replace hold under concurrency.
            try tx.query("SELECT pg_advisory_xact_lock(hashtextextended('wattline.connector_secrets:' || $1::text, 0))",
                         [.uuid(tx.tenant.uuid)])
            let existing = try tx.query(
                "SELECT secret_id FROM wattline.connector_secrets WHERE name = $1", [.text(request.name)]).first
            let secretID: UUID
            if let existing {
                secretID = try existing.uuid(0)
            } else {
                let count = try tx.query("SELECT count(*) FROM wattline.connector_secrets")[0].int64(0)
                guard count < ConnectorSecretRules.maxPerTenant else {
                    throw CallFailure.resourceExhausted(
                        "a tenant holds at most \(ConnectorSecretRules.maxPerTenant) connector secrets; delete one first")
                }
                secretID = UUID.v7(now: now)
            }
            let value = try keyring.seal(
                request.value, tx, table: ConnectorSecretRecord.table, column: "value_enc", row: secretID.bytes)
            let description = try ConnectorSecretRecord.sealText(request.description, "description_enc", secretID, tx, keyring)
            let endpoint = try ConnectorSecretRecord.sealText(request.endpoint, "endpoint_enc", secretID, tx, keyring)
            let row = try tx.query("""
                INSERT INTO wattline.connector_secrets
                    (tenant_id, name, secret_id, value_enc, value_length, description_enc, endpoint_enc, created_at, updated_at, updated_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)
                ON CONFLICT (tenant_id, name) DO UPDATE SET
                    value_enc = EXCLUDED.value_enc, value_length = EXCLUDED.value_length,
                    description_enc = EXCLUDED.description_enc, endpoint_enc = EXCLUDED.endpoint_enc,
                    updated_at = EXCLUDED.updated_at, updated_by = EXCLUDED.updated_by
                RETURNING \(ConnectorSecretRecord.columns)
                """, [.uuid(tx.tenant.uuid), .text(request.name), .uuid(secretID), .bytea(value), .int32(Int32(request.value.count)),
                      description, endpoint, .timestampMs(now), updatedBy])[0]
            return try ConnectorSecretRecord(row: row).proto(tx, keyring: keyring)
        }
        var response = ImsV1.SetConnectorSecretResponse()
        response.connectorSecret = secret
        return response
    }

    func listSecrets(_ request: ImsV1.ListConnectorSecretsRequest, _ context: CallContext) async throws -> ImsV1.ListConnectorSecretsResponse {
        let tenant = try RequestID.tenant(context)
        let keyring = keyring
        let secrets = try await store.transaction(tenant: tenant) { tx in
            try tx.query("SELECT \(ConnectorSecretRecord.columns) FROM wattline.connector_secrets ORDER BY name COLLATE \"C\"").rows
                .map { try ConnectorSecretRecord(row: $0).proto(tx, keyring: keyring) }
        }
        var response = ImsV1.ListConnectorSecretsResponse()
        response.connectorSecrets = secrets
        return response
    }

    func deleteSecret(_ request: ImsV1.DeleteConnectorSecretRequest, _ context: CallContext) async throws -> ImsV1.DeleteConnectorSecretResponse {
        let tenant = try RequestID.tenant(context)
        try ConnectorSecretRules.checkName(request.name)
        let keyring = keyring
        let name = request.name
        let secret = try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query(
                "DELETE FROM wattline.connector_secrets WHERE name = $1 RETURNING \(ConnectorSecretRecord.columns)", [.text(name)]).first
            else { throw CallFailure.notFound("no connector secret named \(name)") }
            return try ConnectorSecretRecord(row: row).proto(tx, keyring: keyring)
        }
        var response = ImsV1.DeleteConnectorSecretResponse()
        response.connectorSecret = secret
        return response
    }
}
