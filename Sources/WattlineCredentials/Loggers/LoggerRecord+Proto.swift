import WattlineProtos

extension LoggerRecord {
    func proto(now: Int64) -> TenancyV1.Logger {
        var logger = TenancyV1.Logger()
        logger.loggerID = id.bytes
        logger.tenantID = tenantID.bytes
        logger.siteID = siteID.bytes
        logger.serialNumber = serialNumber
        logger.model = model
        logger.firmwareVersion = firmwareVersion
        logger.name = name
        logger.state = decommissioned ? .decommissioned : isActive(now: now) ? .active : .pending
        logger.createdAtMs = createdAt
        logger.lastSeenAtMs = lastSeenAt ?? 0
        logger.decommissionedAtMs = decommissionedAt ?? 0
        logger.credentials = credentials.map { $0.loggerProto() }
        return logger
    }
}

extension CredentialRecord {
    func loggerProto() -> TenancyV1.LoggerCredential {
        var credential = TenancyV1.LoggerCredential()
        credential.credentialID = id.bytes
        credential.loggerID = loggerID?.bytes ?? []
        credential.kind = kind == .loggerCertificate ? .certificate : .apiSecret
        credential.createdAtMs = createdAt
        credential.expiresAtMs = expiresAt ?? 0
        credential.revokedAtMs = revokedAt ?? 0
        credential.lastUsedAtMs = lastUsedAt ?? 0
        credential.certificateSHA256 = certificateSHA256 ?? []
        credential.secretPrefix = secretPrefix ?? ""
        credential.replacedByCredentialID = replacedBy?.bytes ?? []
        return credential
    }
}
