import Foundation
import WattlineAccess
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineWire

/// `OffboardTenant` and `GetOffboardingStatus` (docs/privacy.md, "Off-boarding"): after the grace
/// period, the tenant's data keys are destroyed first (everything sealed becomes unreadable at
/// that commit: crypto-shredding), then its rows are purged. The audit chain stays: the server
/// cannot delete it, and it names nobody.
struct Offboarding {
    let store: Store
    let keyring: TenantKeyring
    let ims: ImsService

    func run(_ request: PrivacyV1.OffboardTenantRequest, _ context: CallContext) async throws -> PrivacyV1.OffboardTenantResponse {
        guard case .person(let operatorText, _, _)? = context.principal as? Principal, let operatorID = UUID(uuidString: operatorText) else {
            throw CallFailure.permissionDenied("only a platform operator off-boards a tenant")
        }
        let tenantUUID = try requiredID(request.tenantID, "tenant_id")
        let tenant = TenantID(tenantUUID)
        let keyring = keyring
        let now = Int64(Date().timeIntervalSince1970 * 1_000)
        var job: PrivacyV1.OffboardingJob
        if let existing = try await existingJob(tenant: tenantUUID) {
            // Idempotent: a finished job is returned; one that stopped half-way carries on (each
            // step below can run again).
            guard existing.state != .completed else { return .with { $0.job = existing } }
            job = existing
        } else {
            try await start(tenant, request.confirmationName, now: now)
            job = PrivacyV1.OffboardingJob.with {
                $0.jobID = UUID.v7().bytes
                $0.tenantID = tenantUUID.bytes
                $0.state = .running
                $0.requestedByIdentityID = operatorID.bytes
                $0.requestedAtMs = now
            }
            try await save(job, insert: true)
        }
        // 1. Crypto-shredding: every sealed value of the tenant becomes unreadable here.
        try await store.transaction(tenant: tenant) { tx in try keyring.shred(tx) }
        if job.keyDestroyedAtMs == 0 { job.keyDestroyedAtMs = Int64(Date().timeIntervalSince1970 * 1_000) }
        try await save(job, insert: false)
        // 2. The purge: what has no foreign key to the tenant explicitly, the rest by cascade.
        let purged = try await store.transaction(tenant: tenant) { tx -> Int in
            var rows = 0
            for table in Self.tenantTables {
                rows += Int(try tx.query("SELECT count(*) FROM wattline.\(table)")[0].int64(0))
            }
            try tx.query("DELETE FROM wattline.connector_secrets")
            try tx.query("DELETE FROM wattline.tenants WHERE tenant_id = $1", [.uuid(tenantUUID)])
            return rows
        }
        _ = try await ims.purgeInvitations(tenant: tenantUUID)
        job.rowsPurged += UInt64(purged)
        job.state = .completed
        job.completedAtMs = Int64(Date().timeIntervalSince1970 * 1_000)
        try await save(job, insert: false)
        return .with { $0.job = job }
    }

    /// Checks that the tenant may be purged now, and starts the purge (off-boarding can no
    /// longer be cancelled).
    private func start(_ tenant: TenantID, _ confirmation: String, now: Int64) async throws {
        let keyring = keyring
        let tenantUUID = tenant.uuid
        try await store.transaction(tenant: tenant) { tx in
            guard let row = try tx.query(
                "SELECT status, purge_not_before, name_enc FROM wattline.tenants WHERE tenant_id = $1 FOR UPDATE", [.uuid(tenantUUID)]).first
            else { throw CallFailure.notFound("no such tenant") }
            guard try row.string(0) == "offboarding", let notBefore = try row.optionalTimestampMs(1), notBefore <= now else {
                throw CallFailure.failedPrecondition("the tenant is not off-boarding, or its grace period has not ended")
            }
            let name = try keyring.openText(try row.bytes(2), tx, "tenants", "name_enc", row: tenantUUID.bytes)
            guard name == confirmation else { throw CallFailure.failedPrecondition("confirmation_name is not the tenant's name") }
            try tx.query("UPDATE wattline.tenants SET purge_started_at = now() WHERE tenant_id = $1", [.uuid(tenantUUID)])
        }
    }

    /// Every table holding the tenant's rows except its audit chain.
    static let tenantTables = [
        "tenants", "data_keys", "sites", "memberships", "loggers", "credentials", "meters", "channels", "ingest_batches",
        "telemetry_blocks", "rollups", "channel_latest", "consents", "consent_principals", "connector_secrets",
    ]

    func status(_ request: PrivacyV1.GetOffboardingStatusRequest) async throws -> PrivacyV1.GetOffboardingStatusResponse {
        let id = try requiredID(request.jobID, "job_id")
        guard let bytes = try await store.platformTransaction({ tx in
            try tx.query("SELECT job FROM wattline.offboarding_jobs WHERE job_id = $1", [.uuid(id)]).first.map { try $0.bytes(0) }
        }) else { throw CallFailure.notFound("no such off-boarding job") }
        return .with { $0.job = try? PrivacyV1.OffboardingJob(serializedBytes: bytes) }
    }

    private func existingJob(tenant: UUID) async throws -> PrivacyV1.OffboardingJob? {
        try await store.platformTransaction { tx in
            try tx.query("SELECT job FROM wattline.offboarding_jobs WHERE offboarded_tenant = $1", [.uuid(tenant)]).first
                .map { try PrivacyV1.OffboardingJob(serializedBytes: try $0.bytes(0)) }
        }
    }

    private func save(_ job: PrivacyV1.OffboardingJob, insert: Bool) async throws {
        try await store.platformTransaction { tx in
            if insert {
                try tx.query("INSERT INTO wattline.offboarding_jobs (job_id, offboarded_tenant, job) VALUES ($1, $2, $3)",
                             [.uuid(UUID(bytes: job.jobID)!), .uuid(UUID(bytes: job.tenantID)!), .bytea(job.serializedBytes())])
            } else {
                try tx.query("UPDATE wattline.offboarding_jobs SET job = $2 WHERE job_id = $1", [.uuid(UUID(bytes: job.jobID)!), .bytea(job.serializedBytes())])
            }
        }
    }
}
