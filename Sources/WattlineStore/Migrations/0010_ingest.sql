-- Telemetry ingest (docs/telemetry.md, "Ingest"). A stored batch is one row of ingest_batches,
-- keyed by (tenant, logger, sequence): the key makes a resend store nothing twice, and the row
-- carries the batch's samples, sealed with the tenant's data key, until a compactor moves them
-- into per-channel telemetry_blocks (then payload becomes NULL and the row stays as the
-- exactly-once record). content_sha256 tells a true resend (same content: DUPLICATE) from a
-- logger bug (same sequence, different content: rejected).
ALTER TABLE wattline.ingest_batches
    ADD COLUMN content_sha256 bytea NOT NULL CHECK (length(content_sha256) = 32),
    ADD COLUMN start_ms       bigint NOT NULL,
    ADD COLUMN end_ms         bigint NOT NULL,
    ADD COLUMN flagged_count  integer NOT NULL DEFAULT 0,
    ADD COLUMN payload        bytea;
-- What the compactor has still to move, oldest first.
CREATE INDEX ingest_batches_uncompacted ON wattline.ingest_batches (tenant_id, stored_at) WHERE payload IS NOT NULL;
