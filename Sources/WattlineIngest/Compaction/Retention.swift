import WattlineStore

/// Deletes each tenant's telemetry older than its retention (`tenants.retention_days`): blocks
/// that end before the cutoff, rollup chunks that end by it, latest values before it, and the
/// samples of batches not compacted yet that end before it (their rows stay: the exactly-once
/// record holds no sample). A block reaching past the cutoff stays whole until its day is out,
/// so retention is exact to the UTC day.
public struct Retention: Sendable {
    let store: Store

    public init(store: Store) {
        self.store = store
    }

    public struct Report: Sendable, Equatable {
        public var tenants = 0
        public var blocks = 0
        public var rollups = 0
        public var batches = 0
    }

    /// Applies every tenant's retention at `nowMs`.
    @discardableResult
    public func apply(nowMs: Int64) async throws -> Report {
        let tenants = try await store.lookup(.allTenants) { tx in
            try tx.query("SELECT tenant_id, retention_days FROM wattline.tenants WHERE retention_days IS NOT NULL").rows.map {
                (TenantID(try $0.uuid(0)), try $0.int64(1))
            }
        }
        var report = Report()
        for (tenant, days) in tenants {
            let cutoff = nowMs - days * 86_400_000
            let counts = try await store.transaction(tenant: tenant) { tx in
                let blocks = try tx.query("DELETE FROM wattline.telemetry_blocks WHERE end_ms < $1", [.int64(cutoff)]).affectedRows
                let rollups = try tx.query("DELETE FROM wattline.rollups WHERE chunk_end_ms <= $1", [.int64(cutoff)]).affectedRows
                try tx.query("DELETE FROM wattline.channel_latest WHERE time_ms < $1", [.int64(cutoff)])
                let batches = try tx.query(
                    "UPDATE wattline.ingest_batches SET payload = NULL WHERE payload IS NOT NULL AND end_ms < $1", [.int64(cutoff)]).affectedRows
                return (blocks, rollups, batches)
            }
            report.tenants += 1
            report.blocks += counts.0
            report.rollups += counts.1
            report.batches += counts.2
        }
        return report
    }
}
