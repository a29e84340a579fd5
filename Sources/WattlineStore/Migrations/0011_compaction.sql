-- Compaction (docs/telemetry.md, "Compaction") takes the oldest uncompacted batches in stored
-- order, ties broken by logger and sequence: the index serves that order whole, so a pass reads
-- its 1,000 rows from the index instead of sorting every uncompacted batch (with its payload).
DROP INDEX wattline.ingest_batches_uncompacted;
CREATE INDEX ingest_batches_uncompacted ON wattline.ingest_batches (tenant_id, stored_at, logger_id, sequence)
    WHERE payload IS NOT NULL;
