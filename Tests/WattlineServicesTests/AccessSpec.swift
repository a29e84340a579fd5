import WattlineAccess

/// Who may call each RPC, written down a second time from the contracts' "Requires …" comments,
/// independently of `AccessPolicy`: the authorization matrix checks the running server against
/// this table, not against the policy it enforces.
enum Allowed: Hashable {
    case anyone
    case person
    case anyToken
    /// This role or a stronger one in the tenant the request names (people and integrations).
    case role(TenantRole)
    case platformOperator
    /// The Responsible of the site the request names.
    case responsible
    case logger
}

enum AccessSpec {
    static let viewer = Allowed.role(.viewer), technician = Allowed.role(.technician)
    static let admin = Allowed.role(.admin), owner = Allowed.role(.owner)

    static let table: [String: Set<Allowed>] = [
        "/wattline.health.v1.HealthService/Check": [.anyone],
        "/wattline.health.v1.HealthService/Watch": [.anyone],
        "/wattline.echo.v1.EchoService/Echo": [.anyone],
        "/wattline.echo.v1.EchoService/Expand": [.anyone],
        "/wattline.echo.v1.EchoService/Collect": [.anyone],
        "/wattline.echo.v1.EchoService/Chat": [.anyone],

        "/wattline.ims.v1.ImsService/Invite": [admin, .platformOperator],
        "/wattline.ims.v1.ImsService/ListInvitations": [admin],
        "/wattline.ims.v1.ImsService/RevokeInvitation": [admin],
        "/wattline.ims.v1.ImsService/RegisterWithInvitation": [.anyone],
        "/wattline.ims.v1.ImsService/AcceptInvitation": [.person],
        "/wattline.ims.v1.ImsService/Login": [.anyone],
        "/wattline.ims.v1.ImsService/Refresh": [.anyone],
        "/wattline.ims.v1.ImsService/Logout": [.person],
        "/wattline.ims.v1.ImsService/LogoutEverywhere": [.person],
        "/wattline.ims.v1.ImsService/ListSessions": [.person],
        "/wattline.ims.v1.ImsService/RevokeSession": [.person],
        "/wattline.ims.v1.ImsService/ChangePassword": [.person],
        "/wattline.ims.v1.ImsService/RequestPasswordReset": [.anyone],
        "/wattline.ims.v1.ImsService/CompletePasswordReset": [.anyone],
        "/wattline.ims.v1.ImsService/WhoAmI": [.anyToken],
        "/wattline.ims.v1.ImsService/GetProfile": [.person],
        "/wattline.ims.v1.ImsService/UpdateProfile": [.person],
        "/wattline.ims.v1.IntegrationCredentialService/IssueIntegrationCredential": [admin],
        "/wattline.ims.v1.IntegrationCredentialService/ListIntegrationCredentials": [admin],
        "/wattline.ims.v1.IntegrationCredentialService/RevokeIntegrationCredential": [admin],
        "/wattline.ims.v1.IntegrationCredentialService/ExchangeClientCredentials": [.anyone],
        "/wattline.ims.v1.ConnectorSecretService/SetConnectorSecret": [admin],
        "/wattline.ims.v1.ConnectorSecretService/ListConnectorSecrets": [admin],
        "/wattline.ims.v1.ConnectorSecretService/DeleteConnectorSecret": [admin],

        "/wattline.tenancy.v1.TenantService/CreateTenant": [.platformOperator],
        "/wattline.tenancy.v1.TenantService/GetTenant": [viewer, .platformOperator],
        "/wattline.tenancy.v1.TenantService/ListTenants": [.person],
        "/wattline.tenancy.v1.TenantService/UpdateTenant": [owner, .platformOperator],
        "/wattline.tenancy.v1.TenantService/RequestTenantOffboarding": [owner],
        "/wattline.tenancy.v1.TenantService/CancelTenantOffboarding": [owner, .platformOperator],
        "/wattline.tenancy.v1.SiteService/CreateSite": [admin],
        "/wattline.tenancy.v1.SiteService/GetSite": [viewer],
        "/wattline.tenancy.v1.SiteService/ListSites": [viewer],
        "/wattline.tenancy.v1.SiteService/UpdateSite": [admin],
        "/wattline.tenancy.v1.SiteService/SetSiteResponsible": [admin],
        "/wattline.tenancy.v1.MembershipService/ListMemberships": [viewer],
        "/wattline.tenancy.v1.MembershipService/GrantMembership": [admin],
        "/wattline.tenancy.v1.MembershipService/ChangeMembershipRole": [admin],
        // Any member may leave; who may remove whom is the handler's finer rule.
        "/wattline.tenancy.v1.MembershipService/RevokeMembership": [viewer],
        "/wattline.tenancy.v1.LoggerService/RegisterLogger": [technician],
        "/wattline.tenancy.v1.LoggerService/GetLogger": [viewer, .logger],
        "/wattline.tenancy.v1.LoggerService/ListLoggers": [viewer],
        "/wattline.tenancy.v1.LoggerService/ProvisionLoggerCredential": [technician],
        "/wattline.tenancy.v1.LoggerService/RotateLoggerCredential": [technician, .logger],
        "/wattline.tenancy.v1.LoggerService/RevokeLoggerCredential": [technician],
        "/wattline.tenancy.v1.LoggerService/DecommissionLogger": [admin],
        "/wattline.tenancy.v1.MeterService/CreateMeter": [technician],
        "/wattline.tenancy.v1.MeterService/GetMeter": [viewer, .logger],
        "/wattline.tenancy.v1.MeterService/ListMeters": [viewer, .logger],
        "/wattline.tenancy.v1.MeterService/UpdateMeter": [technician],
        "/wattline.tenancy.v1.MeterService/CreateChannel": [technician],
        "/wattline.tenancy.v1.MeterService/GetChannel": [viewer, .logger],
        "/wattline.tenancy.v1.MeterService/ListChannels": [viewer, .logger],
        "/wattline.tenancy.v1.MeterService/UpdateChannel": [technician],

        "/wattline.telemetry.v1.IngestService/Ingest": [.logger],
        "/wattline.telemetry.v1.QueryService/ReadRaw": [viewer],
        "/wattline.telemetry.v1.QueryService/ReadAggregates": [viewer],
        "/wattline.telemetry.v1.QueryService/ReadEnergy": [viewer],
        "/wattline.telemetry.v1.QueryService/ReadLatest": [viewer],

        "/wattline.consent.v1.ConsentService/PublishPolicyVersion": [.platformOperator],
        "/wattline.consent.v1.ConsentService/ListPolicyVersions": [.anyToken],
        "/wattline.consent.v1.ConsentService/GetPolicyVersion": [.anyToken],
        "/wattline.consent.v1.ConsentService/Sign": [.responsible],
        "/wattline.consent.v1.ConsentService/Revoke": [.responsible, owner],
        "/wattline.consent.v1.ConsentService/GetStatus": [viewer],
        "/wattline.consent.v1.ConsentService/ListReceipts": [admin, .responsible],
        "/wattline.consent.v1.ConsentService/GetVerificationKeys": [.anyone],
        "/wattline.privacy.v1.PrivacyService/ExportTelemetry": [viewer],
        "/wattline.privacy.v1.PrivacyService/AccessPersonalData": [.person],
        "/wattline.privacy.v1.PrivacyService/RequestErasure": [.person],
        "/wattline.privacy.v1.PrivacyService/GetErasureStatus": [.person],
        "/wattline.privacy.v1.PrivacyService/OffboardTenant": [.platformOperator],
        "/wattline.privacy.v1.PrivacyService/GetOffboardingStatus": [.platformOperator],
        "/wattline.audit.v1.AuditService/ListEvents": [admin, .platformOperator],
        "/wattline.audit.v1.AuditService/VerifyChain": [admin, .platformOperator],
    ]
}

/// The callers of the matrix: one of each kind of principal, with roles in tenant "own" (or, for
/// the outsider, only in "other").
enum Caller: String, CaseIterable, CustomStringConvertible {
    case nobody, owner, admin, technician, viewer, responsible, outsider, roleless, platformOperator
    case integrationViewer, integrationTechnician, logger

    var description: String { rawValue }

    var isPerson: Bool {
        switch self {
        case .owner, .admin, .technician, .viewer, .responsible, .outsider, .roleless, .platformOperator: true
        default: false
        }
    }

    /// The caller's role in tenant "own" (`inOwn`) or "other".
    func role(inOwn: Bool) -> TenantRole? {
        switch (self, inOwn) {
        case (.owner, true): .owner
        case (.admin, true): .admin
        case (.technician, true), (.integrationTechnician, true): .technician
        case (.viewer, true), (.responsible, true), (.integrationViewer, true): .viewer
        case (.outsider, false): .owner
        default: nil
        }
    }

    /// Whether the table allows this caller when the request names tenant "own" (`inOwn`), or
    /// names no tenant at all (`tenantScoped` false).
    func isAllowed(by allowed: Set<Allowed>, tenantScoped: Bool, inOwn: Bool) -> Bool {
        allowed.contains { rule in
            switch rule {
            case .anyone: true
            case .person: isPerson
            case .anyToken: isPerson || self == .integrationViewer || self == .integrationTechnician
            case .role(let needed): tenantScoped && (role(inOwn: inOwn).map { $0.includes(needed) } ?? false)
            case .platformOperator: self == .platformOperator
            case .responsible: self == .responsible && tenantScoped && inOwn
            case .logger: self == .logger && (!tenantScoped || inOwn)
            }
        }
    }
}
