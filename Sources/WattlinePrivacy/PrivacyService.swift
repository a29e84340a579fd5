import Foundation
import WattlineAccess
import WattlineIMS
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
    let personalData: PersonalData
    let erasure: Erasure
    let offboarding: Offboarding

    public init(store: Store, keyring: TenantKeyring, ims: ImsService) {
        self.store = store
        self.keyring = keyring
        self.export = TelemetryExport(store: store, keyring: keyring, series: SeriesReader(keyring: keyring))
        self.personalData = PersonalData(store: store, ims: ims)
        self.erasure = Erasure(store: store, ims: ims)
        self.offboarding = Offboarding(store: store, keyring: keyring, ims: ims)
    }

    public func register(in router: inout Router) {
        typealias S = PrivacyV1.PrivacyService
        router.serverStreaming(S.ExportTelemetry.self) { [export] request, responses, context in
            try await export.run(request, responses, context)
        }
        router.unary(S.AccessPersonalData.self) { [personalData] _, context in
            guard case .person(let identity, _, _)? = context.principal as? Principal, let person = UUID(uuidString: identity) else {
                throw CallFailure.permissionDenied("only a person has personal data")
            }
            return try await personalData.document(person, nowMs: Int64(Date().timeIntervalSince1970 * 1_000))
        }
        router.unary(S.RequestErasure.self) { [erasure] request, context in try await erasure.request(request, context) }
        router.unary(S.GetErasureStatus.self) { [erasure] request, context in try await erasure.status(request, context) }
        router.unary(S.OffboardTenant.self) { [offboarding] request, context in try await offboarding.run(request, context) }
        router.unary(S.GetOffboardingStatus.self) { [offboarding] request, _ in try await offboarding.status(request) }
    }
}
