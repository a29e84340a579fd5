import Foundation
import WattlineAccess
import WattlineProtos
import WattlineStore

/// Every RPC that sends customer data out of Wattline, in one place, and the consent scope it
/// needs (docs/privacy.md, "Exports"). A handler of a listed method asks `scope(for:)` and passes
/// `ExportGate` for every site whose data it reads, in the transaction that reads it;
/// `ExportGateTests` calls every listed method without consent and expects FAILED_PRECONDITION.
public enum ExportPaths {
    public enum Rule: Sendable {
        /// Every caller: a download leaves Wattline whoever asks.
        case always(ConsentV1.Scope)
        /// Integrations only: a third party's system reading the data is sharing; the tenant's
        /// own people reading their dashboards are not.
        case forIntegrations(ConsentV1.Scope)
    }

    public static let classified: [String: Rule] = [
        PrivacyV1.PrivacyService.ExportTelemetry.path: .always(.bulkDownload),
        TelemetryV1.QueryService.ReadRaw.path: .forIntegrations(.exportThirdParty),
        TelemetryV1.QueryService.ReadAggregates.path: .forIntegrations(.exportThirdParty),
        TelemetryV1.QueryService.ReadEnergy.path: .forIntegrations(.exportThirdParty),
        TelemetryV1.QueryService.ReadLatest.path: .forIntegrations(.exportThirdParty),
    ]

    /// The scope the call must hold consent for, or nil when it exports nothing.
    public static func scope(for method: String, caller: Any?) -> ConsentV1.Scope? {
        switch classified[method] {
        case .always(let scope)?: return scope
        case .forIntegrations(let scope)?:
            if case .integration? = caller as? Principal { return scope }
            return nil
        case nil: return nil
        }
    }

    /// Passes the gate for each of `sites` when the call exports.
    public static func check(_ tx: borrowing TenantTransaction, method: String, caller: Any?, sites: some Sequence<UUID>) throws {
        guard let scope = scope(for: method, caller: caller) else { return }
        for site in Set(sites) { try ExportGate.require(tx, site: site, scope: scope) }
    }
}
