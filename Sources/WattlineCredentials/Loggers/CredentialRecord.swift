import Foundation
import WattlineStore

/// One row of `wattline.credentials`, as the services read it (never secret material: only the
/// hash's existence shows in `kind`).
struct CredentialRecord: Sendable {
    enum Kind: String, Sendable {
        case loggerCertificate = "logger_certificate"
        case loggerSecret = "logger_secret"
        case integrationSecret = "integration_secret"
    }

    let id: UUID
    let tenantID: UUID
    let loggerID: UUID?
    let kind: Kind
    let createdAt: Int64
    let expiresAt: Int64?
    let revokedAt: Int64?
    let lastUsedAt: Int64?
    let certificateSHA256: [UInt8]?
    let secretPrefix: String?
    let replacedBy: UUID?
    let role: String?
    let descriptionSealed: [UInt8]?
    let createdBy: UUID?
    let notAfter: Int64?

    /// The columns `init(row:)` reads, in order.
    static let columns = """
        credential_id, tenant_id, logger_id, kind, created_at, expires_at, revoked_at, last_used_at, \
        certificate_sha256, secret_prefix, replaced_by, role, description_enc, created_by, not_after
        """

    init(row: PGRow) throws {
        id = try row.uuid(0)
        tenantID = try row.uuid(1)
        loggerID = try row.optionalUUID(2)
        guard let kind = Kind(rawValue: try row.string(3)) else { throw PGError(.decoding, "unknown credential kind") }
        self.kind = kind
        createdAt = try row.timestampMs(4)
        expiresAt = try row.optionalTimestampMs(5)
        revokedAt = try row.optionalTimestampMs(6)
        lastUsedAt = try row.optionalTimestampMs(7)
        certificateSHA256 = try row.optionalBytes(8)
        secretPrefix = try row.optionalString(9)
        replacedBy = try row.optionalUUID(10)
        role = try row.optionalString(11)
        descriptionSealed = try row.optionalBytes(12)
        createdBy = try row.optionalUUID(13)
        notAfter = try row.optionalTimestampMs(14)
    }

    /// Works now: neither revoked nor past its expiry.
    func isUsable(now: Int64) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }
}
