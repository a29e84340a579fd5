-- Consent (docs/privacy.md). The tables of 0002 were never written; they are replaced by these.
DROP TABLE wattline.consents;
DROP TABLE wattline.consent_policy_versions;

-- Published policy versions: platform data, immutable (the server may insert, never change).
CREATE TABLE wattline.consent_policy_versions (
    policy_version_id   uuid PRIMARY KEY,
    policy_id           uuid NOT NULL,
    version             text NOT NULL,
    locale              text NOT NULL,
    title               text NOT NULL,
    text                text NOT NULL,
    text_sha256         bytea NOT NULL CHECK (length(text_sha256) = 32),
    scopes              smallint[] NOT NULL,
    requires_resigning  boolean NOT NULL,
    policy_url          text NOT NULL,
    published_at_ms     bigint NOT NULL,
    published_by        uuid NOT NULL,
    UNIQUE (policy_id, version, locale)
);
CREATE INDEX consent_policy_versions_latest ON wattline.consent_policy_versions (policy_id, locale, published_at_ms DESC);
GRANT SELECT, INSERT ON wattline.consent_policy_versions TO wattline_app;

-- The public keys that ever signed receipts (receipts stay verifiable after a key is retired).
CREATE TABLE wattline.receipt_keys (
    key_id          bytea PRIMARY KEY,
    public_key      bytea NOT NULL CHECK (length(public_key) = 32),
    valid_from_ms   bigint NOT NULL,
    valid_until_ms  bigint
);
GRANT SELECT, INSERT, UPDATE (valid_until_ms) ON wattline.receipt_keys TO wattline_app;

-- The pseudonym a person signs receipts under in a tenant; erasing the person deletes the row,
-- and the receipts no longer lead to anyone.
CREATE TABLE wattline.consent_principals (
    tenant_id           uuid NOT NULL REFERENCES wattline.tenants ON DELETE CASCADE,
    identity_id         uuid NOT NULL,
    pii_principal_id    uuid NOT NULL,
    PRIMARY KEY (tenant_id, identity_id),
    UNIQUE (tenant_id, pii_principal_id)
);

-- A consent given for a site, and its revocation. The receipts are the signed evidence
-- (ConsentReceipt encodings); the client information is sealed with the tenant's key.
CREATE TABLE wattline.consents (
    tenant_id           uuid NOT NULL,
    consent_id          uuid NOT NULL,
    site_id             uuid NOT NULL,
    policy_version_id   uuid NOT NULL REFERENCES wattline.consent_policy_versions,
    pii_principal_id    uuid NOT NULL,
    scopes              smallint[] NOT NULL,
    signed_at_ms        bigint NOT NULL,
    sign_request_id     uuid NOT NULL,
    client_info_enc     bytea,
    receipt             bytea NOT NULL,
    revoked_at_ms       bigint,
    revoke_request_id   uuid,
    revoked_by_pii_principal_id uuid,
    revocation_reason_enc bytea,
    revocation_receipt  bytea,
    PRIMARY KEY (tenant_id, consent_id),
    UNIQUE (tenant_id, sign_request_id),
    FOREIGN KEY (tenant_id, site_id) REFERENCES wattline.sites ON DELETE CASCADE
);
CREATE INDEX consents_site ON wattline.consents (tenant_id, site_id, signed_at_ms DESC);

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['consent_principals', 'consents'] LOOP
        EXECUTE format('ALTER TABLE wattline.%I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE wattline.%I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON wattline.%I USING (tenant_id = (SELECT wattline.current_tenant())) '
                       'WITH CHECK (tenant_id = (SELECT wattline.current_tenant()))', name);
    END LOOP;
END
$$;
GRANT SELECT, INSERT, DELETE ON wattline.consent_principals TO wattline_app;
-- A consent row changes once, when it is revoked; it is never deleted by the server (off-boarding
-- purges it with the tenant).
GRANT SELECT, INSERT, UPDATE (revoked_at_ms, revoke_request_id, revoked_by_pii_principal_id, revocation_reason_enc,
                              revocation_receipt) ON wattline.consents TO wattline_app;
