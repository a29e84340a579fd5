import WattlineAudit
import Foundation
import WattlineProtos
import WattlineStore

/// Formatting for `wattline audit verify`.
enum AuditCommands {
    static func describe(_ result: ChainAudit.Result) -> String {
        let name = result.tenant.map { "tenant \($0.uuidString.lowercased())" } ?? "platform"
        let report = result.report
        guard let broken = report.firstBroken else {
            return "\(name): intact, \(report.eventsChecked) events; anchor for the next run: --anchor \(result.head):\(hex(report.verifiedToHash))"
        }
        return "\(name): BROKEN at sequence \(broken) (\(report.breakKind)); intact through \(report.verifiedTo) of \(result.head)"
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    /// "SEQUENCE:HEX" of a head printed by an earlier run.
    static func anchor(_ text: String) throws -> (sequence: Int64, hash: [UInt8]) {
        let parts = text.split(separator: ":")
        guard parts.count == 2, let sequence = Int64(parts[0]), parts[1].utf8.count == 64,
              let hash = Optional(stride(from: 0, to: 64, by: 2).compactMap({ UInt8(String(Array(parts[1])[$0..<$0 + 2]), radix: 16) })),
              hash.count == 32 else {
            throw CLIError("--anchor takes SEQUENCE:HASH, the hash as 64 hex digits")
        }
        return (sequence, hash)
    }

    /// Records an administrative action of this command line in the platform's chain.
    static func record(conninfo: String, action: String, details: [(String, String)]) async throws {
        let store = try await Store.open(.init(conninfo: conninfo, poolSize: 1))
        defer { store.shutdown() }
        let event = AuditV1.AuditEvent.with {
            $0.kind = .credential
            $0.action = action
            $0.actor = .with { $0.principal = .systemComponent("wattline-cli") }
            $0.outcome = .success
            $0.details = details.map { detail in .with { $0.key = detail.0; $0.value = detail.1 } }
        }
        try await store.transaction(tenant: AuditLog.platform) { tx in _ = try AuditLog.append(tx, event) }
    }
}
