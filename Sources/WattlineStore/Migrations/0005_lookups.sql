-- Lookups across tenants (docs/store.md, "Lookups"). Before the server knows a call's tenant it
-- must find: the tenant roles a person holds (to put them in access tokens), the credential a
-- logger's certificate or secret belongs to, and, for a platform operator, the list of tenants.
-- Each lookup is a read-only transaction that sets one wattline.lookup_* value; these SELECT-only
-- policies then show exactly the rows that answer it and nothing else. Permissive policies are
-- ORed with tenant_isolation, so a tenant-scoped transaction is unaffected.

CREATE FUNCTION wattline.lookup_identity() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('wattline.lookup_identity', true), '')::uuid $$;
CREATE FUNCTION wattline.lookup_credential() RETURNS bytea
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT decode(NULLIF(current_setting('wattline.lookup_credential', true), ''), 'hex') $$;
CREATE FUNCTION wattline.lookup_all_tenants() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('wattline.lookup_all_tenants', true), '') = 'on' $$;
CREATE FUNCTION wattline.lookup_revocations() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT coalesce(current_setting('wattline.lookup_revocations', true), '') = 'on' $$;
GRANT EXECUTE ON FUNCTION wattline.lookup_identity(), wattline.lookup_credential(),
    wattline.lookup_all_tenants(), wattline.lookup_revocations() TO wattline_app;

-- A person's memberships and responsibilities, in every tenant (roles for access tokens).
CREATE POLICY identity_lookup ON wattline.memberships FOR SELECT
    USING (identity_id = wattline.lookup_identity());
CREATE POLICY identity_lookup ON wattline.sites FOR SELECT
    USING (responsible_identity_id = wattline.lookup_identity());
CREATE INDEX memberships_identity ON wattline.memberships (identity_id);
CREATE INDEX sites_responsible ON wattline.sites (responsible_identity_id) WHERE responsible_identity_id IS NOT NULL;

-- The one credential with this certificate fingerprint or secret hash (authentication).
CREATE POLICY credential_lookup ON wattline.credentials FOR SELECT
    USING (certificate_sha256 = wattline.lookup_credential() OR secret_hash = wattline.lookup_credential());
DROP INDEX wattline.credentials_certificate;
CREATE UNIQUE INDEX credentials_certificate ON wattline.credentials (certificate_sha256) WHERE certificate_sha256 IS NOT NULL;
CREATE UNIQUE INDEX credentials_secret ON wattline.credentials (secret_hash) WHERE secret_hash IS NOT NULL;

-- Certificates that must be refused at connect: revoked or expired logger certificates of every
-- tenant (fingerprints only matter; the rest of the row is ids and ciphertext).
CREATE POLICY revocation_lookup ON wattline.credentials FOR SELECT
    USING (wattline.lookup_revocations() AND kind = 'logger_certificate'
           AND (revoked_at IS NOT NULL OR expires_at IS NOT NULL));

-- Every tenant's row, for a platform operator's listing (names stay sealed with each tenant's key).
CREATE POLICY operator_lookup ON wattline.tenants FOR SELECT
    USING (wattline.lookup_all_tenants());
