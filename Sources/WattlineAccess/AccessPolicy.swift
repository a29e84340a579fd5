import WattlineProtos

/// What every RPC requires of its caller, in one place (the contracts' "Requires …" comments, as
/// data). A call is allowed when any one requirement of its method is met; a method missing from
/// this table is denied, and `AccessPolicyTests` fails while any contract method is missing.
///
/// A method whose requirements concern a tenant also says where its request names the tenant
/// (and, for site Responsibles, the site): that tenant is the call's tenant, checked against the
/// caller's roles before the handler runs and then the store's scope for the whole call.
public enum AccessPolicy {
    /// One method's declaration.
    public struct Permission: Sendable {
        /// Any one of them suffices.
        public let requirements: [Requirement]
        /// The tenant id the decoded request names, if the method is tenant-scoped.
        let tenantOf: (@Sendable (any ProtoMessage) -> [UInt8]?)?
        /// The site id the decoded request names, if a site Responsible may call it.
        let siteOf: (@Sendable (any ProtoMessage) -> [UInt8]?)?

        /// Whether the request names the call's tenant.
        public var isTenantScoped: Bool { tenantOf != nil }
    }

    public static let permissions: [String: Permission] = {
        var table: [String: Permission] = [:]
        func declare<M: ProtoMethod>(
            _ method: M.Type, _ requirements: Requirement...,
            tenant: (@Sendable (M.Request) -> [UInt8])? = nil, site: (@Sendable (M.Request) -> [UInt8])? = nil
        ) {
            precondition(table[M.path] == nil, "\(M.path) declared twice")
            precondition(tenant == nil || M.kind == .unary || M.kind == .serverStreaming,
                         "\(M.path): a tenant can only be read from a single request")
            table[M.path] = Permission(requirements: requirements, tenantOf: field(tenant), siteOf: field(site))
        }
        // Transport diagnostics and health: no data, no credentials.
        declare(HealthV1.HealthService.Check.self, .anyone)
        declare(HealthV1.HealthService.Watch.self, .anyone)
        declare(EchoV1.EchoService.Echo.self, .anyone)
        declare(EchoV1.EchoService.Expand.self, .anyone)
        declare(EchoV1.EchoService.Collect.self, .anyone)
        declare(EchoV1.EchoService.Chat.self, .anyone)

        // Identity: signing in needs nothing (the password or token is the proof).
        declare(ImsV1.ImsService.Invite.self, .tenantRole(.admin), .platformOperator, tenant: { $0.tenantID })
        declare(ImsV1.ImsService.ListInvitations.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.ImsService.RevokeInvitation.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.ImsService.RegisterWithInvitation.self, .anyone)
        declare(ImsV1.ImsService.AcceptInvitation.self, .person)
        declare(ImsV1.ImsService.Login.self, .anyone)
        declare(ImsV1.ImsService.Refresh.self, .anyone)
        declare(ImsV1.ImsService.Logout.self, .person)
        declare(ImsV1.ImsService.LogoutEverywhere.self, .person)
        declare(ImsV1.ImsService.ListSessions.self, .person)
        declare(ImsV1.ImsService.RevokeSession.self, .person)
        declare(ImsV1.ImsService.ChangePassword.self, .person)
        declare(ImsV1.ImsService.RequestPasswordReset.self, .anyone)
        declare(ImsV1.ImsService.CompletePasswordReset.self, .anyone)
        declare(ImsV1.ImsService.WhoAmI.self, .anyToken)
        declare(ImsV1.ImsService.GetProfile.self, .person)
        declare(ImsV1.ImsService.UpdateProfile.self, .person)
        declare(ImsV1.IntegrationCredentialService.IssueIntegrationCredential.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.IntegrationCredentialService.ListIntegrationCredentials.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.IntegrationCredentialService.RevokeIntegrationCredential.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.IntegrationCredentialService.ExchangeClientCredentials.self, .anyone)
        declare(ImsV1.ConnectorSecretService.SetConnectorSecret.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.ConnectorSecretService.ListConnectorSecrets.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(ImsV1.ConnectorSecretService.DeleteConnectorSecret.self, .tenantRole(.admin), tenant: { $0.tenantID })

        // Tenancy.
        declare(TenancyV1.TenantService.CreateTenant.self, .platformOperator)
        declare(TenancyV1.TenantService.GetTenant.self, .tenantRole(.viewer), .platformOperator, tenant: { $0.tenantID })
        declare(TenancyV1.TenantService.ListTenants.self, .person)
        declare(TenancyV1.TenantService.UpdateTenant.self, .tenantRole(.owner), .platformOperator, tenant: { $0.tenantID })
        declare(TenancyV1.TenantService.RequestTenantOffboarding.self, .tenantRole(.owner), tenant: { $0.tenantID })
        declare(TenancyV1.TenantService.CancelTenantOffboarding.self, .tenantRole(.owner), .platformOperator, tenant: { $0.tenantID })
        declare(TenancyV1.SiteService.CreateSite.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.SiteService.GetSite.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TenancyV1.SiteService.ListSites.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TenancyV1.SiteService.UpdateSite.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.SiteService.SetSiteResponsible.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.MembershipService.ListMemberships.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TenancyV1.MembershipService.GrantMembership.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.MembershipService.ChangeMembershipRole.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.MembershipService.RevokeMembership.self, .tenantRole(.viewer), tenant: { $0.tenantID })  // leaving: the handler checks who
        declare(TenancyV1.LoggerService.RegisterLogger.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.GetLogger.self, .tenantRole(.viewer), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.ListLoggers.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.ProvisionLoggerCredential.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.RotateLoggerCredential.self, .tenantRole(.technician), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.RevokeLoggerCredential.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.LoggerService.DecommissionLogger.self, .tenantRole(.admin), tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.CreateMeter.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.GetMeter.self, .tenantRole(.viewer), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.ListMeters.self, .tenantRole(.viewer), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.UpdateMeter.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.CreateChannel.self, .tenantRole(.technician), tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.GetChannel.self, .tenantRole(.viewer), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.ListChannels.self, .tenantRole(.viewer), .logger, tenant: { $0.tenantID })
        declare(TenancyV1.MeterService.UpdateChannel.self, .tenantRole(.technician), tenant: { $0.tenantID })

        // Telemetry: loggers write, tenant members read.
        declare(TelemetryV1.IngestService.Ingest.self, .logger)
        declare(TelemetryV1.QueryService.ReadRaw.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TelemetryV1.QueryService.ReadAggregates.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TelemetryV1.QueryService.ReadEnergy.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(TelemetryV1.QueryService.ReadLatest.self, .tenantRole(.viewer), tenant: { $0.tenantID })

        // Consent and privacy.
        declare(ConsentV1.ConsentService.PublishPolicyVersion.self, .platformOperator)
        declare(ConsentV1.ConsentService.ListPolicyVersions.self, .anyToken)
        declare(ConsentV1.ConsentService.GetPolicyVersion.self, .anyToken)
        declare(ConsentV1.ConsentService.Sign.self, .siteResponsible, tenant: { $0.tenantID }, site: { $0.siteID })
        declare(ConsentV1.ConsentService.Revoke.self, .siteResponsible, .tenantRole(.owner), tenant: { $0.tenantID }, site: { $0.siteID })
        declare(ConsentV1.ConsentService.GetStatus.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(ConsentV1.ConsentService.ListReceipts.self, .tenantRole(.admin), .siteResponsible, tenant: { $0.tenantID }, site: { $0.siteID })
        declare(ConsentV1.ConsentService.GetVerificationKeys.self, .anyone)
        declare(PrivacyV1.PrivacyService.ExportTelemetry.self, .tenantRole(.viewer), tenant: { $0.tenantID })
        declare(PrivacyV1.PrivacyService.AccessPersonalData.self, .person)
        declare(PrivacyV1.PrivacyService.RequestErasure.self, .person)
        declare(PrivacyV1.PrivacyService.GetErasureStatus.self, .person)
        declare(PrivacyV1.PrivacyService.OffboardTenant.self, .platformOperator)
        declare(PrivacyV1.PrivacyService.GetOffboardingStatus.self, .platformOperator)
        declare(AuditV1.AuditService.ListEvents.self, .tenantRole(.admin), .platformOperator, tenant: { $0.tenantID })
        declare(AuditV1.AuditService.VerifyChain.self, .tenantRole(.admin), .platformOperator, tenant: { $0.tenantID })
        return table
    }()

    /// A reader of one field of `Request`, for any decoded message (nil for another type).
    private static func field<Request: ProtoMessage>(
        _ read: (@Sendable (Request) -> [UInt8])?
    ) -> (@Sendable (any ProtoMessage) -> [UInt8]?)? {
        guard let read else { return nil }
        return { message in
            guard let request = message as? Request else { return nil }
            return read(request)
        }
    }

    /// The requirements of every declared method.
    public static var requirements: [String: [Requirement]] { permissions.mapValues(\.requirements) }

    /// Whether `principal` may call `method` in the call's tenant and site: any one requirement
    /// met; a method not in the table is denied.
    public static func allows(_ principal: Principal, _ method: String, tenantID: String?, siteID: String? = nil) -> Bool {
        guard let permission = permissions[method] else { return false }
        return permission.requirements.contains { $0.isMet(by: principal, tenantID: tenantID, siteID: siteID) }
    }
}
