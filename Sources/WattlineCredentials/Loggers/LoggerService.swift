import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.tenancy.v1.LoggerService`: loggers and their credentials (README.md, Credentials).
///
/// Roles are checked by `AccessPolicy` before a handler runs; every handler works in a
/// transaction of the call's tenant, so ids of other tenants are NOT_FOUND. Handlers check what
/// the policy cannot: a logger reads only itself and rotates only the credential it
/// authenticated with.
public final class LoggerService: Sendable {
    public static let defaultOverlapSeconds: Int64 = 86_400
    public static let maximumOverlapSeconds: Int64 = 30 * 86_400

    let store: Store
    let keyring: TenantKeyring
    let registry: CredentialRegistry
    let issuance: CredentialIssuance
    let serialIndex: SerialIndex

    /// - Parameters:
    ///   - store: the server's store (`wattline_app`).
    ///   - deviceCA: signs loggers' client certificates.
    ///   - registry: told at once about revocations and rotations made here.
    public init(store: Store, keyring: TenantKeyring, deviceCA: DeviceCA, registry: CredentialRegistry) {
        self.store = store
        self.keyring = keyring
        self.registry = registry
        self.issuance = CredentialIssuance(deviceCA: deviceCA)
        self.serialIndex = SerialIndex(store: store, keyring: keyring)
    }

    public func register(in router: inout Router) {
        router.unary(TenancyV1.LoggerService.RegisterLogger.self) { [self] request, context in
            try await registerLogger(request, context)
        }
        router.unary(TenancyV1.LoggerService.GetLogger.self) { [self] request, context in
            try await getLogger(request, context)
        }
        router.unary(TenancyV1.LoggerService.ListLoggers.self) { [self] request, context in
            try await listLoggers(request, context)
        }
        router.unary(TenancyV1.LoggerService.ProvisionLoggerCredential.self) { [self] request, context in
            try await provisionCredential(request, context)
        }
        router.unary(TenancyV1.LoggerService.RotateLoggerCredential.self) { [self] request, context in
            try await rotateCredential(request, context)
        }
        router.unary(TenancyV1.LoggerService.RevokeLoggerCredential.self) { [self] request, context in
            try await revokeCredential(request, context)
        }
        router.unary(TenancyV1.LoggerService.DecommissionLogger.self) { [self] request, context in
            try await decommissionLogger(request, context)
        }
    }

    // MARK: Loggers

    func registerLogger(_ request: TenancyV1.RegisterLoggerRequest, _ context: CallContext) async throws -> TenancyV1.RegisterLoggerResponse {
        let tenant = try RequestID.tenant(context)
        let siteID = try RequestID.parse(request.siteID, "site_id")
        try TextRules.check(request.serialNumber, "serial_number", min: 1, max: 64)
        try TextRules.check(request.model, "model", min: 1, max: 64)
        try TextRules.check(request.firmwareVersion, "firmware_version", max: 64)
        try TextRules.check(request.name, "name", max: 100)
        let index = try await serialIndex.index(model: request.model, serialNumber: request.serialNumber)
        let now = Clock.nowMs()
        let id = UUID.v7(now: now)
        let keyring = keyring
        do {
            let logger = try await store.transaction(tenant: tenant) { tx in
                guard try tx.query("SELECT 1 FROM wattline.sites WHERE site_id = $1", [.uuid(siteID)]).first != nil else {
                    throw CallFailure.notFound("no such site in this tenant")
                }
                let serial = try keyring.seal(Array(request.serialNumber.utf8), tx, table: "loggers", column: "serial_enc", row: id.bytes)
                let name: PGValue = request.name.isEmpty
                    ? .null
                    : .bytea(try keyring.seal(Array(request.name.utf8), tx, table: "loggers", column: "name_enc", row: id.bytes))
                try tx.query("""
                    INSERT INTO wattline.loggers (tenant_id, logger_id, site_id, serial_enc, model, firmware_version, name_enc, serial_index, created_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                    """, [.uuid(tx.tenant.uuid), .uuid(id), .uuid(siteID), .bytea(serial), .text(request.model),
                          .text(request.firmwareVersion), name, .bytea(index), .timestampMs(now)])
                return try LoggerQueries.logger(id, tx, keyring: keyring)!
            }
            var response = TenancyV1.RegisterLoggerResponse()
            response.logger = logger.proto(now: now)
            return response
        } catch {
            if let failure = error as? PGError, failure.code == .uniqueViolation {
                throw CallFailure.alreadyExists("a logger of this model and serial number is already registered and in service")
            }
            throw error
        }
    }

    func getLogger(_ request: TenancyV1.GetLoggerRequest, _ context: CallContext) async throws -> TenancyV1.GetLoggerResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.loggerID, "logger_id")
        // A logger sees itself only; any other id is as unknown to it as another tenant's.
        if case .logger(let loggerID, _, _, _)? = context.principal as? Principal, loggerID != id.lowercased {
            throw CallFailure.notFound("no such logger")
        }
        let keyring = keyring
        guard let logger = try await store.transaction(tenant: tenant, { tx in try LoggerQueries.logger(id, tx, keyring: keyring) }) else {
            throw CallFailure.notFound("no such logger")
        }
        var response = TenancyV1.GetLoggerResponse()
        response.logger = logger.proto(now: Clock.nowMs())
        return response
    }

    /// By serial number, then id. Serial numbers are sealed, so the tenant's loggers (of the site)
    /// are opened and sorted here: fine for the thousands a tenant has.
    func listLoggers(_ request: TenancyV1.ListLoggersRequest, _ context: CallContext) async throws -> TenancyV1.ListLoggersResponse {
        let tenant = try RequestID.tenant(context)
        let siteID = request.siteID.isEmpty ? nil : try RequestID.parse(request.siteID, "site_id")
        let limit = try PageSize.resolve(request.pageSize)
        let after = try request.pageToken.isEmpty ? nil : ListPosition(token: request.pageToken)
        let includeDecommissioned = request.includeDecommissioned
        let keyring = keyring
        let (page, more) = try await store.transaction(tenant: tenant) { tx in
            let rows = try tx.query(
                "SELECT \(LoggerRecord.columns) FROM wattline.loggers WHERE ($1::uuid IS NULL OR site_id = $1) AND ($2 OR status <> 'decommissioned')",
                [siteID.map { .uuid($0) } ?? .null, .bool(includeDecommissioned)]).rows
            var loggers = try rows.map { try LoggerRecord(row: $0, tx, keyring: keyring) }
            loggers.sort { ListPosition(of: $0) < ListPosition(of: $1) }
            if let after { loggers.removeAll { ListPosition(of: $0) <= after } }
            var page = Array(loggers.prefix(limit))
            let credentials = try LoggerQueries.credentials(ofLoggers: page.map(\.id), tx)
            for index in page.indices { page[index].credentials = credentials[page[index].id] ?? [] }
            return (page, loggers.count > limit)
        }
        let now = Clock.nowMs()
        var response = TenancyV1.ListLoggersResponse()
        response.loggers = page.map { $0.proto(now: now) }
        if more, let last = page.last { response.nextPageToken = ListPosition(of: last).token }
        return response
    }

    func decommissionLogger(_ request: TenancyV1.DecommissionLoggerRequest, _ context: CallContext) async throws -> TenancyV1.DecommissionLoggerResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.loggerID, "logger_id")
        try TextRules.check(request.reason, "reason", max: 500)
        let now = Clock.nowMs()
        let keyring = keyring
        // TODO(audit): the reason belongs in the audit log (wattline.audit.v1), which has no writer yet.
        let logger = try await store.transaction(tenant: tenant) { tx in
            guard let logger = try LoggerQueries.logger(id, tx, keyring: keyring, forUpdate: true) else {
                throw CallFailure.notFound("no such logger")
            }
            guard !logger.decommissioned else { return logger }  // decommissioning twice changes nothing
            try tx.query(
                "UPDATE wattline.loggers SET status = 'decommissioned', decommissioned_at = $2 WHERE logger_id = $1",
                [.uuid(id), .timestampMs(now)])
            try tx.query(
                "UPDATE wattline.credentials SET revoked_at = $2 WHERE logger_id = $1 AND revoked_at IS NULL",
                [.uuid(id), .timestampMs(now)])
            return try LoggerQueries.logger(id, tx, keyring: keyring)!
        }
        forgetLocally(logger.credentials)
        var response = TenancyV1.DecommissionLoggerResponse()
        response.logger = logger.proto(now: now)
        return response
    }

    // MARK: Credentials

    func provisionCredential(
        _ request: TenancyV1.ProvisionLoggerCredentialRequest, _ context: CallContext
    ) async throws -> TenancyV1.ProvisionLoggerCredentialResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.loggerID, "logger_id")
        let (material, seconds) = try CredentialIssuance.validate(request.material)
        let now = Clock.nowMs()
        let keyring = keyring
        let issuance = issuance
        let result = try await store.transaction(tenant: tenant) { tx in
            guard let logger = try LoggerQueries.logger(id, tx, keyring: keyring, forUpdate: true) else {
                throw CallFailure.notFound("no such logger")
            }
            guard !logger.decommissioned else { throw CallFailure.failedPrecondition("the logger is decommissioned") }
            return try issuance.issue(material, validForSeconds: seconds, logger: logger, tx, now: now)
        }
        var issued = TenancyV1.IssuedLoggerCredential()
        issued.credential = result.record.loggerProto()
        issued.issued = result.issued
        var response = TenancyV1.ProvisionLoggerCredentialResponse()
        response.issued = issued
        return response
    }

    func rotateCredential(
        _ request: TenancyV1.RotateLoggerCredentialRequest, _ context: CallContext
    ) async throws -> TenancyV1.RotateLoggerCredentialResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.credentialID, "credential_id")
        // A logger renews only the credential it is authenticated with.
        if case .logger(_, _, _, let credentialID)? = context.principal as? Principal, credentialID != id.lowercased {
            throw CallFailure.permissionDenied("a logger may rotate only the credential it authenticated with")
        }
        let (material, seconds) = try CredentialIssuance.validate(request.material)
        let overlap = request.overlapSeconds == 0 ? Self.defaultOverlapSeconds : Int64(request.overlapSeconds)
        guard overlap <= Self.maximumOverlapSeconds else {
            throw CallFailure.invalidArgument("overlap_seconds must be at most \(Self.maximumOverlapSeconds) (30 days)")
        }
        let now = Clock.nowMs()
        let keyring = keyring
        let issuance = issuance
        let (result, replaced) = try await store.transaction(tenant: tenant) { tx in
            // Logger first, then credential: the order DecommissionLogger locks them in.
            guard let loggerID = try LoggerQueries.loggerCredential(id, tx)?.loggerID,
                  let logger = try LoggerQueries.logger(loggerID, tx, keyring: keyring, forUpdate: true),
                  let old = try LoggerQueries.loggerCredential(id, tx, forUpdate: true)
            else {
                throw CallFailure.notFound("no such logger credential")
            }
            guard old.isUsable(now: now) else { throw CallFailure.failedPrecondition("the credential is revoked or expired") }
            guard old.replacedBy == nil else {
                throw CallFailure.failedPrecondition("the credential was already replaced; rotate its successor")
            }
            guard !logger.decommissioned else { throw CallFailure.failedPrecondition("the logger is decommissioned") }
            let result = try issuance.issue(material, validForSeconds: seconds, logger: logger, tx, now: now)
            let end = now + overlap * 1_000
            let replaced = try CredentialRecord(row: try tx.query("""
                UPDATE wattline.credentials SET replaced_by = $2, expires_at = least(coalesce(expires_at, $3), $3)
                WHERE credential_id = $1 RETURNING \(CredentialRecord.columns)
                """, [.uuid(id), .uuid(result.record.id), .timestampMs(end)])[0])
            return (result, replaced)
        }
        registry.forget(credentialIDs: [replaced.id.lowercased])
        if let fingerprint = replaced.certificateSHA256, let expiresAt = replaced.expiresAt {
            registry.revokedCertificates.expire(CredentialRegistry.hex(fingerprint), at: expiresAt)
        }
        var issued = TenancyV1.IssuedLoggerCredential()
        issued.credential = result.record.loggerProto()
        issued.issued = result.issued
        var response = TenancyV1.RotateLoggerCredentialResponse()
        response.issued = issued
        response.replaced = replaced.loggerProto()
        return response
    }

    func revokeCredential(
        _ request: TenancyV1.RevokeLoggerCredentialRequest, _ context: CallContext
    ) async throws -> TenancyV1.RevokeLoggerCredentialResponse {
        let tenant = try RequestID.tenant(context)
        let id = try RequestID.parse(request.credentialID, "credential_id")
        try TextRules.check(request.reason, "reason", max: 500)
        let now = Clock.nowMs()
        // TODO(audit): the reason belongs in the audit log (wattline.audit.v1), which has no writer yet.
        let revoked = try await store.transaction(tenant: tenant) { tx in
            guard try LoggerQueries.loggerCredential(id, tx, forUpdate: true) != nil, let revoked = try LoggerQueries.revoke(id, tx, now: now) else {
                throw CallFailure.notFound("no such logger credential")
            }
            return revoked
        }
        forgetLocally([revoked])
        var response = TenancyV1.RevokeLoggerCredentialResponse()
        response.credential = revoked.loggerProto()
        return response
    }

    /// Revocations made here count at once in this process (cache, connect-time set).
    private func forgetLocally(_ credentials: [CredentialRecord]) {
        registry.forget(credentialIDs: Set(credentials.map(\.id.lowercased)))
        for credential in credentials where credential.revokedAt != nil {
            guard let fingerprint = credential.certificateSHA256 else { continue }
            registry.revokedCertificates.revoke(CredentialRegistry.hex(fingerprint))
        }
    }
}
