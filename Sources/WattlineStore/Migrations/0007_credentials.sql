-- Loggers and their credentials, integration credentials (module WattlineCredentials,
-- docs: Sources/WattlineCredentials/README.md).

-- Loggers: display name (sealed), life-cycle times, and the serial index that keeps one model and
-- serial number registered once across all tenants while in service. The index is an HMAC of
-- model and serial under a platform-wide key (see platform_secrets), so it reveals neither; a
-- unique index is enforced by PostgreSQL across every tenant's rows whatever row-level security
-- shows, so no lookup is needed for it.
ALTER TABLE wattline.loggers
    ADD COLUMN name_enc          bytea,
    ADD COLUMN serial_index      bytea CHECK (length(serial_index) = 32),
    ADD COLUMN last_seen_at      timestamptz,
    ADD COLUMN decommissioned_at timestamptz;
CREATE UNIQUE INDEX loggers_serial_in_service ON wattline.loggers (serial_index)
    WHERE serial_index IS NOT NULL AND status <> 'decommissioned';

-- Credentials: the non-secret prefix of a secret, the rotation successor, use, issuer, and a
-- certificate's own notAfter (an expiry shortened by rotation ends before it, and the connect-time
-- revocation set must hold the fingerprint until notAfter, after which TLS refuses it anyway).
-- description_enc (0002) holds an integration credential's label.
ALTER TABLE wattline.credentials
    ADD COLUMN secret_prefix  text CHECK (length(secret_prefix) <= 32),
    ADD COLUMN replaced_by    uuid,
    ADD COLUMN last_used_at   timestamptz,
    ADD COLUMN created_by     uuid,
    ADD COLUMN not_after      timestamptz;
CREATE INDEX credentials_logger ON wattline.credentials (tenant_id, logger_id) WHERE logger_id IS NOT NULL;

-- Secrets of the platform itself (not of any tenant), sealed with the data key of the platform
-- scope: the all-zero tenant id in wattline.data_keys, so that master-key rotation re-wraps it
-- with every tenant key. It holds the key of loggers.serial_index.
CREATE TABLE wattline.platform_secrets (
    tenant_id   uuid NOT NULL CHECK (tenant_id = '00000000-0000-0000-0000-000000000000'),
    name        text NOT NULL,
    secret_enc  bytea NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE wattline.platform_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE wattline.platform_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wattline.platform_secrets USING (tenant_id = wattline.current_tenant())
    WITH CHECK (tenant_id = wattline.current_tenant());
GRANT SELECT, INSERT ON wattline.platform_secrets TO wattline_app;

-- An integration credential by its id (whether its access tokens still count), before the
-- server knows its tenant. It reuses the credential lookup setting (Lookup.credential): a
-- 16-byte value there is a credential id, a 32-byte one a SHA-256 (0005), so the two never meet.
CREATE POLICY integration_id_lookup ON wattline.credentials FOR SELECT
    USING (kind = 'integration_secret'
           AND credential_id = CASE WHEN length(wattline.lookup_credential()) = 16
                                    THEN encode(wattline.lookup_credential(), 'hex')::uuid END);
CREATE INDEX credentials_id ON wattline.credentials (credential_id);
