import Foundation
import WattlineCrypto
import WattlineProtos
import WattlineStore
import WattlineWire

/// Makes a new logger credential from `CredentialMaterial`: the device CA signs a CSR into a
/// client certificate (stored by the SHA-256 of its DER), or an API secret is generated (stored
/// as its SHA-256 with a non-secret prefix). Shared by ProvisionLoggerCredential and
/// RotateLoggerCredential.
struct CredentialIssuance {
    static let defaultValidity: Int64 = 365 * 86_400
    static let maximumValidity: Int64 = 825 * 86_400

    let deviceCA: DeviceCA

    /// What one issuance produced: the stored row and the one-time material.
    struct Result: Sendable {
        let record: CredentialRecord
        let issued: TenancyV1.IssuedLoggerCredential.Issued
        /// Lowercase hex fingerprint, for certificates.
        let fingerprint: String?
    }

    /// Checks the material before any database work (INVALID_ARGUMENT).
    static func validate(_ material: TenancyV1.CredentialMaterial?) throws -> (TenancyV1.CredentialMaterial.Material, Int64) {
        guard let material, let kind = material.material else {
            throw CallFailure.invalidArgument("material must be a CSR or an API secret request")
        }
        let seconds = material.validForSeconds == 0 ? defaultValidity : Int64(material.validForSeconds)
        guard seconds <= maximumValidity else {
            throw CallFailure.invalidArgument("valid_for_seconds must be at most \(maximumValidity) (825 days)")
        }
        if case .csrDER(let der) = kind, der.isEmpty {
            throw CallFailure.invalidArgument("csr_der is empty")
        }
        return (kind, seconds)
    }

    /// Issues for `logger` and inserts the credential row in the logger's tenant.
    func issue(
        _ material: TenancyV1.CredentialMaterial.Material, validForSeconds: Int64, logger: LoggerRecord,
        _ tx: borrowing TenantTransaction, now: Int64
    ) throws -> Result {
        let id = UUID.v7(now: now)
        switch material {
        case .csrDER(let der):
            let certificate: IssuedCertificate
            do {
                certificate = try deviceCA.issue(
                    csrDER: der, loggerID: logger.id.lowercased, siteID: logger.siteID.lowercased,
                    tenantID: logger.tenantID.lowercased, validity: .seconds(validForSeconds), now: now / 1_000)
            } catch {
                // (No `catch … where` here: with typed throws it crashes the 6.3 compiler.)
                guard error.code == .invalidInput || error.code == .authenticationFailed else { throw CallFailure.internalError() }
                throw CallFailure.invalidArgument("csr_der: \(error.message)")
            }
            let notAfter = certificate.notAfter * 1_000
            guard let fingerprint = CredentialRegistry.decodeHex(certificate.sha256Fingerprint) else {
                throw CallFailure.internalError()
            }
            let row = try tx.query("""
                INSERT INTO wattline.credentials (tenant_id, credential_id, logger_id, kind, certificate_sha256, created_at, expires_at, not_after)
                VALUES ($1, $2, $3, 'logger_certificate', $4, $5, $6, $6) RETURNING \(CredentialRecord.columns)
                """, [.uuid(tx.tenant.uuid), .uuid(id), .uuid(logger.id), .bytea(fingerprint), .timestampMs(now), .timestampMs(notAfter)])[0]
            var chain = TenancyV1.CertificateChain()
            chain.certificatesDER = [certificate.certificateDER]
            return Result(record: try CredentialRecord(row: row), issued: .certificateChain(chain),
                          fingerprint: certificate.sha256Fingerprint)
        case .apiSecret:
            let secret = try IssuedSecret.generate(prefix: IssuedSecret.loggerPrefix)
            let row = try tx.query("""
                INSERT INTO wattline.credentials (tenant_id, credential_id, logger_id, kind, secret_hash, secret_prefix, created_at, expires_at)
                VALUES ($1, $2, $3, 'logger_secret', $4, $5, $6, $7) RETURNING \(CredentialRecord.columns)
                """, [.uuid(tx.tenant.uuid), .uuid(id), .uuid(logger.id), .bytea(secret.sha256), .text(secret.displayPrefix),
                      .timestampMs(now), .timestampMs(now + validForSeconds * 1_000)])[0]
            return Result(record: try CredentialRecord(row: row), issued: .apiSecret(secret.value), fingerprint: nil)
        }
    }
}
