import Foundation
import WattlineProtos

/// Which calls the audit log records, in one place: every call that changes security- or
/// privacy-relevant state, every sign-in, every export and every personal-data read, whatever
/// its outcome (refused calls too). Plain reads (Get, List, queries) are not recorded.
public enum AuditedMethods {
    public struct Entry: Sendable {
        public let kind: AuditV1.EventKind
        /// The handler records its success itself, in the transaction that makes the change
        /// (`AuditLog.append(_:_:)` with `AuditLog.success(of:)`), so the change and its record
        /// commit together; the recorder then records only refusals and failures.
        public let recordedByHandler: Bool
        /// What the call is about, from its request or (once it ran) its response.
        let subject: @Sendable (any ProtoMessage, (any Sendable)?) -> AuditV1.Subject?
    }

    public static let entries: [String: Entry] = {
        var table: [String: Entry] = [:]
        func record<M: ProtoMethod>(
            _ method: M.Type, _ kind: AuditV1.EventKind, byHandler: Bool = false,
            subject: (@Sendable (M.Request, M.Response?) -> (AuditV1.SubjectKind, [UInt8])?)? = nil
        ) {
            precondition(table[M.path] == nil, "\(M.path) recorded twice")
            table[M.path] = Entry(kind: kind, recordedByHandler: byHandler) { request, response in
                guard let subject, let request = request as? M.Request,
                      let (kind, id) = subject(request, response as? M.Response), !id.isEmpty else { return nil }
                return .with { $0.kind = kind; $0.subjectID = id }
            }
        }
        typealias Ims = ImsV1.ImsService
        record(Ims.Login.self, .authentication) { _, response in response.map { (.session, $0.sessionID) } }
        record(Ims.Refresh.self, .authentication)
        record(ImsV1.IntegrationCredentialService.ExchangeClientCredentials.self, .authentication)
        record(Ims.Logout.self, .session)
        record(Ims.LogoutEverywhere.self, .session)
        record(Ims.RevokeSession.self, .session) { request, _ in (.session, request.sessionID) }
        record(Ims.ChangePassword.self, .credential)
        record(Ims.RequestPasswordReset.self, .credential)
        record(Ims.CompletePasswordReset.self, .credential)
        record(ImsV1.IntegrationCredentialService.IssueIntegrationCredential.self, .credential)
        record(ImsV1.IntegrationCredentialService.RevokeIntegrationCredential.self, .credential) { request, _ in
            (.integrationCredential, request.credentialID)
        }
        record(ImsV1.ConnectorSecretService.SetConnectorSecret.self, .credential)
        record(ImsV1.ConnectorSecretService.DeleteConnectorSecret.self, .credential)
        record(Ims.UpdateProfile.self, .identity)
        record(Ims.RegisterWithInvitation.self, .identity)
        record(Ims.Invite.self, .membership)
        record(Ims.AcceptInvitation.self, .membership)
        record(Ims.RevokeInvitation.self, .membership) { request, _ in (.invitation, request.invitationID) }
        typealias Tenancy = TenancyV1
        record(Tenancy.MembershipService.GrantMembership.self, .membership) { request, _ in (.identity, request.identityID) }
        record(Tenancy.MembershipService.ChangeMembershipRole.self, .membership) { request, _ in (.identity, request.identityID) }
        record(Tenancy.MembershipService.RevokeMembership.self, .membership) { request, _ in (.identity, request.identityID) }
        record(Tenancy.TenantService.CreateTenant.self, .tenant) { _, response in response.flatMap { $0.tenant }.map { (.tenant, $0.tenantID) } }
        record(Tenancy.TenantService.UpdateTenant.self, .tenant) { request, _ in (.tenant, request.tenantID) }
        record(Tenancy.TenantService.RequestTenantOffboarding.self, .tenant) { request, _ in (.tenant, request.tenantID) }
        record(Tenancy.TenantService.CancelTenantOffboarding.self, .tenant) { request, _ in (.tenant, request.tenantID) }
        record(Tenancy.SiteService.CreateSite.self, .site) { _, response in response.flatMap { $0.site }.map { (.site, $0.siteID) } }
        record(Tenancy.SiteService.UpdateSite.self, .site) { request, _ in (.site, request.siteID) }
        record(Tenancy.SiteService.SetSiteResponsible.self, .site) { request, _ in (.site, request.siteID) }
        record(Tenancy.LoggerService.RegisterLogger.self, .device) { _, response in response.flatMap { $0.logger }.map { (.logger, $0.loggerID) } }
        record(Tenancy.LoggerService.ProvisionLoggerCredential.self, .credential) { request, _ in (.logger, request.loggerID) }
        record(Tenancy.LoggerService.RotateLoggerCredential.self, .credential) { request, _ in (.loggerCredential, request.credentialID) }
        record(Tenancy.LoggerService.RevokeLoggerCredential.self, .credential) { request, _ in (.loggerCredential, request.credentialID) }
        record(Tenancy.LoggerService.DecommissionLogger.self, .device) { request, _ in (.logger, request.loggerID) }
        record(Tenancy.MeterService.CreateMeter.self, .device)
        record(Tenancy.MeterService.UpdateMeter.self, .device) { request, _ in (.meter, request.meterID) }
        record(Tenancy.MeterService.CreateChannel.self, .device)
        record(Tenancy.MeterService.UpdateChannel.self, .device)
        typealias Consent = ConsentV1.ConsentService
        record(Consent.PublishPolicyVersion.self, .consent, byHandler: true) { _, response in
            response.flatMap { $0.policyVersion }.map { (.policyVersion, $0.policyVersionID) }
        }
        record(Consent.Sign.self, .consent, byHandler: true) { request, response in
            response.flatMap { $0.receipt }.map { (.consent, $0.consentID) } ?? (.site, request.siteID)
        }
        record(Consent.Revoke.self, .consent, byHandler: true) { request, _ in (.consent, request.consentID) }
        typealias Privacy = PrivacyV1.PrivacyService
        record(Privacy.ExportTelemetry.self, .privacy) { request, _ in (.site, request.siteID) }
        record(Privacy.AccessPersonalData.self, .privacy)
        record(Privacy.RequestErasure.self, .privacy) { request, _ in (.identity, request.identityID) }
        record(Privacy.OffboardTenant.self, .privacy) { request, _ in (.tenant, request.tenantID) }
        record(AuditV1.AuditService.ListEvents.self, .audit)
        record(AuditV1.AuditService.VerifyChain.self, .audit)
        return table
    }()
}
