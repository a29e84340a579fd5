-- Functional data, one table per entity. Every tenant-owned table has tenant_id leading its
-- primary key (ready for distribution by tenant) and FORCE ROW LEVEL SECURITY with a policy on
-- wattline.current_tenant(). Columns ending in _enc hold AES-256-GCM ciphertexts sealed with the
-- tenant's data key (see docs/store.md); *_index columns hold HMAC blind indexes.

CREATE TABLE wattline.tenants (
    tenant_id               uuid PRIMARY KEY,
    name_enc                bytea NOT NULL,
    status                  text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'offboarding', 'offboarded')),
    created_at              timestamptz NOT NULL DEFAULT now(),
    offboarding_requested_at timestamptz
);

-- Per-tenant data keys, wrapped by the master key-encryption key (which is never in the database).
CREATE TABLE wattline.data_keys (
    tenant_id       uuid NOT NULL,
    key_id          integer NOT NULL,
    wrapped_key     bytea NOT NULL,
    master_key_id   text NOT NULL,
    status          text NOT NULL CHECK (status IN ('active', 'retired')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key_id)
);
CREATE UNIQUE INDEX data_keys_one_active ON wattline.data_keys (tenant_id) WHERE status = 'active';

CREATE TABLE wattline.sites (
    tenant_id               uuid NOT NULL REFERENCES wattline.tenants ON DELETE CASCADE,
    site_id                 uuid NOT NULL,
    name_enc                bytea NOT NULL,
    address_enc             bytea,
    country                 text NOT NULL DEFAULT '',
    time_zone               text NOT NULL,
    responsible_identity_id uuid,
    created_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, site_id)
);

CREATE TABLE wattline.memberships (
    tenant_id   uuid NOT NULL REFERENCES wattline.tenants ON DELETE CASCADE,
    identity_id uuid NOT NULL,
    role        text NOT NULL CHECK (role IN ('owner', 'admin', 'technician', 'viewer')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, identity_id)
);

CREATE TABLE wattline.loggers (
    tenant_id           uuid NOT NULL,
    logger_id           uuid NOT NULL,
    site_id             uuid NOT NULL,
    serial_enc          bytea NOT NULL,
    model               text NOT NULL DEFAULT '',
    firmware_version    text NOT NULL DEFAULT '',
    status              text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'decommissioned')),
    last_stored_sequence bigint NOT NULL DEFAULT 0,
    created_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, logger_id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES wattline.sites ON DELETE CASCADE
);

-- Logger and integration credentials: secrets only as hashes, certificates by fingerprint.
CREATE TABLE wattline.credentials (
    tenant_id           uuid NOT NULL REFERENCES wattline.tenants ON DELETE CASCADE,
    credential_id       uuid NOT NULL,
    logger_id           uuid,
    kind                text NOT NULL CHECK (kind IN ('logger_certificate', 'logger_secret', 'integration_secret')),
    secret_hash         bytea,
    certificate_sha256  bytea,
    role                text CHECK (role IN ('technician', 'viewer')),
    description_enc     bytea,
    created_at          timestamptz NOT NULL DEFAULT now(),
    expires_at          timestamptz,
    revoked_at          timestamptz,
    PRIMARY KEY (tenant_id, credential_id),
    FOREIGN KEY (tenant_id, logger_id) REFERENCES wattline.loggers ON DELETE CASCADE
);
CREATE UNIQUE INDEX credentials_certificate ON wattline.credentials (tenant_id, certificate_sha256) WHERE certificate_sha256 IS NOT NULL;

CREATE TABLE wattline.meters (
    tenant_id       uuid NOT NULL,
    meter_id        uuid NOT NULL,
    logger_id       uuid NOT NULL,
    modbus_address  integer NOT NULL CHECK (modbus_address BETWEEN 0 AND 255),
    manufacturer    text NOT NULL DEFAULT '',
    model           text NOT NULL DEFAULT '',
    serial_enc      bytea,
    PRIMARY KEY (tenant_id, meter_id),
    FOREIGN KEY (tenant_id, logger_id) REFERENCES wattline.loggers ON DELETE CASCADE
);

CREATE TABLE wattline.channels (
    tenant_id       uuid NOT NULL,
    channel_id      bigint NOT NULL CHECK (channel_id > 0),
    meter_id        uuid NOT NULL,
    quantity        text NOT NULL,
    unit            text NOT NULL,
    cumulative      boolean NOT NULL DEFAULT false,
    rollover_value  double precision,
    decimal_places  integer NOT NULL DEFAULT 3 CHECK (decimal_places BETWEEN 0 AND 9),
    PRIMARY KEY (tenant_id, channel_id),
    FOREIGN KEY (tenant_id, meter_id) REFERENCES wattline.meters ON DELETE CASCADE
);

-- Exactly-once ingest: one row per (logger, sequence) stored, written in the batch's transaction.
CREATE TABLE wattline.ingest_batches (
    tenant_id       uuid NOT NULL,
    logger_id       uuid NOT NULL,
    sequence        bigint NOT NULL,
    sample_count    integer NOT NULL,
    stored_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, logger_id, sequence),
    FOREIGN KEY (tenant_id, logger_id) REFERENCES wattline.loggers ON DELETE CASCADE
);

-- Compressed, encrypted time-series blocks: one channel's samples over [start_ms, end_ms].
CREATE TABLE wattline.telemetry_blocks (
    tenant_id       uuid NOT NULL,
    channel_id      bigint NOT NULL,
    start_ms        bigint NOT NULL,
    end_ms          bigint NOT NULL,
    block_seq       bigint NOT NULL,
    sample_count    integer NOT NULL,
    key_id          integer NOT NULL,
    payload         bytea NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, start_ms, block_seq),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES wattline.channels ON DELETE CASCADE
);

-- Rollups (15 min, hour, day): encrypted like the blocks.
CREATE TABLE wattline.rollups (
    tenant_id       uuid NOT NULL,
    channel_id      bigint NOT NULL,
    level           text NOT NULL CHECK (level IN ('15m', '1h', '1d')),
    bucket_start_ms bigint NOT NULL,
    key_id          integer NOT NULL,
    payload         bytea NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, level, bucket_start_ms),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES wattline.channels ON DELETE CASCADE
);

-- Policy versions are published by the operator for everyone: not tenant data, read-only here.
CREATE TABLE wattline.consent_policy_versions (
    policy_version_id   uuid PRIMARY KEY,
    policy_id           text NOT NULL,
    version             text NOT NULL,
    locale              text NOT NULL,
    text                text NOT NULL,
    text_sha256         bytea NOT NULL CHECK (length(text_sha256) = 32),
    scopes              text[] NOT NULL,
    requires_resign     boolean NOT NULL DEFAULT false,
    published_at        timestamptz NOT NULL DEFAULT now(),
    UNIQUE (policy_id, version, locale)
);

CREATE TABLE wattline.consents (
    tenant_id           uuid NOT NULL,
    consent_id          uuid NOT NULL,
    site_id             uuid NOT NULL,
    policy_version_id   uuid NOT NULL REFERENCES wattline.consent_policy_versions,
    document_sha256     bytea NOT NULL,
    signer_pseudonym    bytea NOT NULL,
    scopes              text[] NOT NULL,
    client_info_enc     bytea,
    signed_at           timestamptz NOT NULL DEFAULT now(),
    revoked_at          timestamptz,
    receipt             bytea NOT NULL,
    revocation_receipt  bytea,
    PRIMARY KEY (tenant_id, consent_id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES wattline.sites ON DELETE CASCADE
);

-- Tamper-evident audit log: a hash chain per tenant.
CREATE TABLE wattline.audit_events (
    tenant_id       uuid NOT NULL,
    sequence        bigint NOT NULL,
    occurred_at     timestamptz NOT NULL DEFAULT now(),
    actor           text NOT NULL,
    action          text NOT NULL,
    subject         text NOT NULL DEFAULT '',
    outcome         text NOT NULL,
    source_address  text NOT NULL DEFAULT '',
    details_enc     bytea,
    previous_hash   bytea NOT NULL,
    event_hash      bytea NOT NULL,
    PRIMARY KEY (tenant_id, sequence)
);

-- Row-level security on every tenant-owned table; FORCE applies it to the owner as well.
DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['tenants', 'data_keys', 'sites', 'memberships', 'loggers', 'credentials',
                                'meters', 'channels', 'ingest_batches', 'telemetry_blocks', 'rollups',
                                'consents', 'audit_events'] LOOP
        EXECUTE format('ALTER TABLE wattline.%I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE wattline.%I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON wattline.%I USING (tenant_id = wattline.current_tenant()) '
                       'WITH CHECK (tenant_id = wattline.current_tenant())', name);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON wattline.%I TO wattline_app', name);
    END LOOP;
END
$$;
GRANT SELECT ON wattline.consent_policy_versions TO wattline_app;
-- The audit log is append-only for the server.
REVOKE UPDATE, DELETE ON wattline.audit_events FROM wattline_app;
