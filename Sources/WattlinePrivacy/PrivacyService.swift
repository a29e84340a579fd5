import Foundation
import WattlineIngest
import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.privacy.v1.PrivacyService` (docs/privacy.md): telemetry export behind the consent
/// gate; a person's access to their personal data; erasure; tenant off-boarding.
public final class PrivacyService: Sendable {
    let store: Store
    let keyring: TenantKeyring
    let export: TelemetryExport

    public init(store: Store, keyring: TenantKeyring) {
        self.store = store
        self.keyring = keyring
        self.export = TelemetryExport(store: store, keyring: keyring, series: SeriesReader(keyring: keyring))
    }

    public func register(in router: inout Router) {
        router.serverStreaming(PrivacyV1.PrivacyService.ExportTelemetry.self) { [export] request, responses, context in
            try await export.run(request, responses, context)
        }
    }
}
