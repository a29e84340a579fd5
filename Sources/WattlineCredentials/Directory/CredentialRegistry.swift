import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineStore

/// Who a logger certificate or API secret belongs to, and whether an integration credential's
/// access tokens still count: the credential half of `CredentialDirectory`, on every
/// authenticated call's path.
///
/// A credential is found across tenants by its fingerprint or hash (`Lookup.credential`), then
/// its logger, site and state are read in that tenant's scope. Answers are cached for
/// `cacheLifetime` (never past the credential's expiry); revocations through this process drop
/// them at once, and other nodes' within `cacheLifetime`.
public final class CredentialRegistry: Sendable {
    public static let defaultCacheLifetime: Duration = .seconds(30)
    /// `last_used_at` and `last_seen_at` are written at most this often per credential.
    static let usageWriteInterval: Int64 = 60_000

    let store: Store
    /// The connect-time revocation set, updated by this registry's local revocations.
    public let revokedCertificates: RevokedCertificates
    private let cacheLifetime: Duration
    private let loggers: AnswerCache<String, LoggerIdentity>
    /// Integration credential id → revoked (true), working (false); absent ids are not integrations.
    private let integrations: AnswerCache<String, IntegrationState>

    enum IntegrationState: Sendable, Hashable {
        case notAnIntegration
        case working(expiresAt: Int64?)
        case revoked
    }

    public init(store: Store, cacheLifetime: Duration = defaultCacheLifetime, cacheCapacity: Int = 10_000) {
        self.store = store
        self.revokedCertificates = RevokedCertificates(store: store)
        self.cacheLifetime = cacheLifetime
        self.loggers = AnswerCache(capacity: cacheCapacity)
        self.integrations = AnswerCache(capacity: cacheCapacity)
    }

    // MARK: Loggers

    /// The logger a client certificate (SHA-256 of its DER, lowercase hex) was issued to; nil when
    /// unknown, revoked, expired or decommissioned.
    public func logger(certificateSHA256: String) async throws -> LoggerIdentity? {
        guard let hash = Self.decodeHex(certificateSHA256) else { return nil }
        if revokedCertificates.contains(certificateSHA256) { return nil }
        return try await logger(hash: hash, cacheKey: "c:" + certificateSHA256, column: "certificate_sha256", kind: .loggerCertificate)
    }

    /// The logger an API secret (SHA-256 of its UTF-8 text) was issued to; nil when unknown,
    /// revoked, expired or decommissioned.
    public func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? {
        guard secretSHA256.count == 32 else { return nil }
        return try await logger(hash: secretSHA256, cacheKey: "s:" + Self.hex(secretSHA256), column: "secret_hash", kind: .loggerSecret)
    }

    private func logger(hash: [UInt8], cacheKey: String, column: String, kind: CredentialRecord.Kind) async throws -> LoggerIdentity? {
        if let known = loggers.value(cacheKey) { return known }
        let generation = loggers.generation
        // 1. Which tenant and credential: across tenants, only the row with this hash is visible.
        let found = try await store.lookup(.credential(sha256: hash)) { tx in
            try tx.query(
                "SELECT tenant_id, credential_id FROM wattline.credentials WHERE \(column) = $1 AND kind = $2",
                [.bytea(hash), .text(kind.rawValue)]
            ).first.map { (try $0.uuid(0), try $0.uuid(1)) }
        }
        guard let (tenantID, credentialID) = found else { return nil }
        // 2. Its logger, site and state, in that tenant's scope.
        let now = Clock.nowMs()
        let interval = Self.usageWriteInterval
        let answer = try await store.transaction(tenant: TenantID(tenantID)) { tx -> (LoggerIdentity, Int64?)? in
            guard let row = try tx.query("""
                SELECT l.logger_id, l.site_id, c.expires_at FROM wattline.credentials c
                JOIN wattline.loggers l ON l.tenant_id = c.tenant_id AND l.logger_id = c.logger_id
                WHERE c.credential_id = $1 AND c.revoked_at IS NULL AND (c.expires_at IS NULL OR c.expires_at > $2)
                  AND l.status <> 'decommissioned'
                """, [.uuid(credentialID), .timestampMs(now)]).first
            else { return nil }
            let loggerID = try row.uuid(0)
            // Usage, coarsely (one write a minute at most): last_used_at and the logger's last_seen_at.
            try tx.query(
                "UPDATE wattline.credentials SET last_used_at = $2 WHERE credential_id = $1 AND (last_used_at IS NULL OR last_used_at < $3)",
                [.uuid(credentialID), .timestampMs(now), .timestampMs(now - interval)])
            try tx.query(
                "UPDATE wattline.loggers SET last_seen_at = $2 WHERE logger_id = $1 AND (last_seen_at IS NULL OR last_seen_at < $3)",
                [.uuid(loggerID), .timestampMs(now), .timestampMs(now - interval)])
            let identity = LoggerIdentity(
                loggerID: loggerID.lowercased, siteID: try row.uuid(1).lowercased, tenantID: tenantID.lowercased,
                credentialID: credentialID.lowercased)
            return (identity, try row.optionalTimestampMs(2))
        }
        guard let (identity, expiresAt) = answer else { return nil }
        loggers.store(identity, for: cacheKey, validFor: validity(until: expiresAt, now: now), seenGeneration: generation)
        return identity
    }

    // MARK: Integrations

    /// For an access token's session id (`sid`): nil when it is not an integration credential
    /// (a person's session: ask the IMS), true when the credential is revoked, expired or gone,
    /// false while it works.
    public func integrationRevoked(credentialID: String) async throws -> Bool? {
        guard let id = UUID(uuidString: credentialID) else { return nil }
        let key = id.lowercased
        let now = Clock.nowMs()
        if let known = integrations.value(key) { return Self.revoked(known, now: now) }
        let generation = integrations.generation
        // A 16-byte value in the credential lookup is a credential id (migration 0007).
        let row = try await store.lookup(.credential(sha256: id.bytes)) { tx in
            try tx.query(
                "SELECT revoked_at IS NOT NULL, expires_at FROM wattline.credentials WHERE credential_id = $1 AND kind = 'integration_secret'",
                [.uuid(id)]
            ).first.map { (try $0.bool(0), try $0.optionalTimestampMs(1)) }
        }
        let state: IntegrationState = switch row {
        case nil: .notAnIntegration
        case (true, _)?: .revoked
        case (false, let expiresAt)?: .working(expiresAt: expiresAt)
        }
        // Revoked stays revoked and an id never becomes an integration's: only "working" is re-read.
        let validFor: Duration = if case .working = state { cacheLifetime } else { .seconds(3_600) }
        integrations.store(state, for: key, validFor: validFor, seenGeneration: generation)
        return Self.revoked(state, now: now)
    }

    /// Whether access tokens of this integration credential must be refused (also when it is not
    /// one, or is unknown).
    public func isIntegrationRevoked(credentialID: String) async throws -> Bool {
        try await integrationRevoked(credentialID: credentialID) ?? true
    }

    private static func revoked(_ state: IntegrationState, now: Int64) -> Bool? {
        switch state {
        case .notAnIntegration: nil
        case .revoked: true
        case .working(let expiresAt): expiresAt.map { $0 <= now } ?? false
        }
    }

    /// The whole `CredentialDirectory` for the access interceptor: loggers from here, and
    /// session revocation from here for integration credentials and from `sessions` (the IMS's
    /// `isSessionRevoked`) for everything else.
    public func directory(sessions: @escaping @Sendable (String) async throws -> Bool) -> any CredentialDirectory {
        ComposedDirectory(registry: self, sessions: sessions)
    }

    // MARK: Local changes

    /// A credential of a logger was revoked or had its expiry moved here: answers about it go now.
    func forget(credentialIDs: Set<String>) {
        loggers.remove { _, identity in credentialIDs.contains(identity.credentialID) }
    }

    func integrationRevokedHere(_ credentialID: UUID) {
        integrations.force(.revoked, for: credentialID.lowercased, validFor: .seconds(3_600))
    }

    // MARK: Helpers

    private func validity(until expiresAt: Int64?, now: Int64) -> Duration {
        guard let expiresAt else { return cacheLifetime }
        return min(cacheLifetime, .milliseconds(max(0, expiresAt - now)))
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// 64 lowercase hex digits → 32 bytes; nil otherwise.
    static func decodeHex(_ text: String) -> [UInt8]? {
        let utf8 = Array(text.utf8)
        guard utf8.count == 64 else { return nil }
        func nibble(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            default: nil
            }
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(32)
        for index in stride(from: 0, to: 64, by: 2) {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}

/// `CredentialDirectory` as `wattline-server` wires it.
struct ComposedDirectory: CredentialDirectory {
    let registry: CredentialRegistry
    let sessions: @Sendable (String) async throws -> Bool

    func logger(certificateSHA256: String) async throws -> LoggerIdentity? {
        try await registry.logger(certificateSHA256: certificateSHA256)
    }

    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? {
        try await registry.logger(secretSHA256: secretSHA256)
    }

    func isSessionRevoked(_ sessionID: String) async throws -> Bool {
        if let integration = try await registry.integrationRevoked(credentialID: sessionID) { return integration }
        return try await sessions(sessionID)
    }
}
