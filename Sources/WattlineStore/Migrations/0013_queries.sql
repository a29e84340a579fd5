-- Queries (docs/queries.md). Rollups: per channel and level, one row per chunk of buckets (a UTC
-- day of 15-minute or hourly buckets; one local day in the site's time zone), sealed with the
-- tenant's data key like the blocks; the chunk bounds are in clear to pick rows without
-- decrypting. The table of 0002 (one row per bucket) was never written.
DROP TABLE wattline.rollups;
CREATE TABLE wattline.rollups (
    tenant_id       uuid NOT NULL,
    channel_id      bigint NOT NULL,
    level           text NOT NULL CHECK (level IN ('15m', '1h', '1d')),
    chunk_start_ms  bigint NOT NULL,
    chunk_end_ms    bigint NOT NULL CHECK (chunk_end_ms > chunk_start_ms),
    -- The IANA zone of a '1d' chunk's local day; '' for the UTC-aligned levels.
    time_zone       text NOT NULL DEFAULT '',
    payload         bytea NOT NULL,
    PRIMARY KEY (tenant_id, channel_id, level, chunk_start_ms),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES wattline.channels ON DELETE CASCADE
);

-- Each channel's latest compacted sample (time in clear, value sealed): ReadLatest reads one row
-- per channel, plus the batches not compacted yet.
CREATE TABLE wattline.channel_latest (
    tenant_id   uuid NOT NULL,
    channel_id  bigint NOT NULL,
    time_ms     bigint NOT NULL,
    payload     bytea NOT NULL,
    PRIMARY KEY (tenant_id, channel_id),
    FOREIGN KEY (tenant_id, channel_id) REFERENCES wattline.channels ON DELETE CASCADE
);

DO $$
DECLARE
    name text;
BEGIN
    FOREACH name IN ARRAY ARRAY['rollups', 'channel_latest'] LOOP
        EXECUTE format('ALTER TABLE wattline.%I ENABLE ROW LEVEL SECURITY', name);
        EXECUTE format('ALTER TABLE wattline.%I FORCE ROW LEVEL SECURITY', name);
        EXECUTE format('CREATE POLICY tenant_isolation ON wattline.%I USING (tenant_id = (SELECT wattline.current_tenant())) '
                       'WITH CHECK (tenant_id = (SELECT wattline.current_tenant()))', name);
        EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON wattline.%I TO wattline_app', name);
    END LOOP;
END
$$;

-- Retention per tenant: telemetry older than this many days is deleted by the background job
-- (NULL keeps everything).
ALTER TABLE wattline.tenants ADD COLUMN retention_days integer CHECK (retention_days IS NULL OR retention_days BETWEEN 1 AND 36500);
