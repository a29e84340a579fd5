-- The audit log (docs/privacy.md, "Audit log"): one hash chain per tenant, and the platform's
-- chain under the nil tenant id for events outside any tenant (sign-ins, operators' actions).
-- A row holds the event as its Protobuf encoding without event_hash (what the hash covers, so a
-- verifier recomputes it from the row alone) and, in clear, the columns the listing filters on.
-- The server's role may only read and append: no UPDATE, DELETE or TRUNCATE. The table of 0002
-- was never written.
DROP TABLE wattline.audit_events;
CREATE TABLE wattline.audit_events (
    tenant_id       uuid NOT NULL,
    sequence        bigint NOT NULL CHECK (sequence >= 1),
    occurred_at_ms  bigint NOT NULL,
    kind            smallint NOT NULL,
    outcome         smallint NOT NULL,
    actor_id        uuid,
    subject_id      uuid,
    event           bytea NOT NULL,
    event_hash      bytea NOT NULL CHECK (length(event_hash) = 32),
    PRIMARY KEY (tenant_id, sequence)
);
CREATE INDEX audit_events_actor ON wattline.audit_events (actor_id, tenant_id) WHERE actor_id IS NOT NULL;
ALTER TABLE wattline.audit_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE wattline.audit_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON wattline.audit_events USING (tenant_id = (SELECT wattline.current_tenant()))
    WITH CHECK (tenant_id = (SELECT wattline.current_tenant()));
GRANT SELECT, INSERT ON wattline.audit_events TO wattline_app;
