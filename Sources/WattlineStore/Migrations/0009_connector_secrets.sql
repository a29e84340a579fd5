-- Secrets Wattline presents to other systems on a tenant's behalf (module WattlineCredentials,
-- docs/credentials.md, "Connector secrets"). The value is sealed with the tenant's data key in
-- value_enc (associated data: tenant, table connector_secrets, column value_enc, row = the 16
-- bytes of secret_id); description and endpoint likewise. Only the name (an identifier the
-- admin chooses, needed to find the secret) and the value's length are in the clear.
CREATE TABLE wattline.connector_secrets (
    tenant_id        uuid NOT NULL,
    name             text NOT NULL CHECK (name ~ '^[a-z0-9._-]{1,64}$'),
    -- The row the sealed columns are bound to (kept when the value is replaced).
    secret_id        uuid NOT NULL UNIQUE,
    value_enc        bytea NOT NULL,
    value_length     integer NOT NULL CHECK (value_length BETWEEN 1 AND 8192),
    description_enc  bytea,
    endpoint_enc     bytea,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    updated_by       uuid,
    PRIMARY KEY (tenant_id, name)
);
ALTER TABLE wattline.connector_secrets ENABLE ROW LEVEL SECURITY;
ALTER TABLE wattline.connector_secrets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wattline.connector_secrets USING (tenant_id = wattline.current_tenant())
    WITH CHECK (tenant_id = wattline.current_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON wattline.connector_secrets TO wattline_app;
