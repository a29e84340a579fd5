/// Time series at rest (issue "Telemetry ingest"): the block codec lands here.
enum TelemetryModule {}
