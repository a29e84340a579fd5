-- Erasures and off-boarding jobs (docs/privacy.md): platform records of what was done, kept as
-- evidence. They name the person or tenant by id only; the records they describe are gone. Not
-- tenant-owned rows (no tenant_id, no row-level security): they outlive the tenant.
CREATE TABLE wattline.erasures (
    erasure_id      uuid PRIMARY KEY,
    identity_id     uuid NOT NULL,
    erased_in_tenant uuid,
    requested_by    uuid NOT NULL,
    requested_at_ms bigint NOT NULL,
    erasure         bytea NOT NULL
);
CREATE INDEX erasures_identity ON wattline.erasures (identity_id);
GRANT SELECT, INSERT ON wattline.erasures TO wattline_app;

CREATE TABLE wattline.offboarding_jobs (
    job_id          uuid PRIMARY KEY,
    offboarded_tenant uuid NOT NULL UNIQUE,
    job             bytea NOT NULL
);
GRANT SELECT, INSERT, UPDATE (job) ON wattline.offboarding_jobs TO wattline_app;
