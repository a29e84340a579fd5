-- Roles and schemas. The server connects as wattline_app: it owns nothing, cannot bypass
-- row-level security, and cannot see the identity schema. The identity service connects as
-- wattline_ims and sees only its own schema. Objects are owned by the migrating role.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wattline_app') THEN
        CREATE ROLE wattline_app LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'wattline_ims') THEN
        CREATE ROLE wattline_ims LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA public FROM PUBLIC;
CREATE SCHEMA wattline;
CREATE SCHEMA ims;
REVOKE ALL ON SCHEMA wattline, ims FROM PUBLIC;
GRANT USAGE ON SCHEMA wattline TO wattline_app;
GRANT USAGE ON SCHEMA ims TO wattline_ims;

-- The tenant of the current transaction, set by the store with SET LOCAL; NULL when unset, so
-- that every policy comparison with it is false and an unscoped query sees no tenant rows.
CREATE FUNCTION wattline.current_tenant() RETURNS uuid
    LANGUAGE sql STABLE PARALLEL SAFE
    AS $$ SELECT NULLIF(current_setting('wattline.tenant_id', true), '')::uuid $$;
GRANT EXECUTE ON FUNCTION wattline.current_tenant() TO wattline_app;
