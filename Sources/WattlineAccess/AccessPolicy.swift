import WattlineProtos

/// What every RPC requires of its caller, in one place (the contracts' "Requires …" comments, as
/// data). A call is allowed when any one requirement of its method is met; a method missing from
/// this table is denied, and `AccessPolicyTests` fails while any contract method is missing.
public enum AccessPolicy {
    public static let requirements: [String: [Requirement]] = {
        var table: [String: [Requirement]] = [:]
        func declare<M: ProtoMethod>(_ method: M.Type, _ requirements: Requirement...) {
            precondition(table[M.path] == nil, "\(M.path) declared twice")
            table[M.path] = requirements
        }
        // Transport diagnostics and health: no data, no credentials.
        declare(HealthV1.HealthService.Check.self, .anyone)
        declare(HealthV1.HealthService.Watch.self, .anyone)
        declare(EchoV1.EchoService.Echo.self, .anyone)
        declare(EchoV1.EchoService.Expand.self, .anyone)
        declare(EchoV1.EchoService.Collect.self, .anyone)
        declare(EchoV1.EchoService.Chat.self, .anyone)

        // Identity: signing in needs nothing (the password or token is the proof).
        declare(ImsV1.ImsService.Invite.self, .tenantRole(.admin), .platformOperator)
        declare(ImsV1.ImsService.ListInvitations.self, .tenantRole(.admin))
        declare(ImsV1.ImsService.RevokeInvitation.self, .tenantRole(.admin))
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
        declare(ImsV1.IntegrationCredentialService.IssueIntegrationCredential.self, .tenantRole(.admin))
        declare(ImsV1.IntegrationCredentialService.ListIntegrationCredentials.self, .tenantRole(.admin))
        declare(ImsV1.IntegrationCredentialService.RevokeIntegrationCredential.self, .tenantRole(.admin))
        declare(ImsV1.IntegrationCredentialService.ExchangeClientCredentials.self, .anyone)

        // Tenancy.
        declare(TenancyV1.TenantService.CreateTenant.self, .platformOperator)
        declare(TenancyV1.TenantService.GetTenant.self, .tenantRole(.viewer), .platformOperator)
        declare(TenancyV1.TenantService.ListTenants.self, .person)
        declare(TenancyV1.TenantService.UpdateTenant.self, .tenantRole(.owner), .platformOperator)
        declare(TenancyV1.TenantService.RequestTenantOffboarding.self, .tenantRole(.owner))
        declare(TenancyV1.TenantService.CancelTenantOffboarding.self, .tenantRole(.owner), .platformOperator)
        declare(TenancyV1.SiteService.CreateSite.self, .tenantRole(.admin))
        declare(TenancyV1.SiteService.GetSite.self, .tenantRole(.viewer))
        declare(TenancyV1.SiteService.ListSites.self, .tenantRole(.viewer))
        declare(TenancyV1.SiteService.UpdateSite.self, .tenantRole(.admin))
        declare(TenancyV1.SiteService.SetSiteResponsible.self, .tenantRole(.admin))
        declare(TenancyV1.MembershipService.ListMemberships.self, .tenantRole(.viewer))
        declare(TenancyV1.MembershipService.GrantMembership.self, .tenantRole(.admin))
        declare(TenancyV1.MembershipService.ChangeMembershipRole.self, .tenantRole(.admin))
        declare(TenancyV1.MembershipService.RevokeMembership.self, .tenantRole(.viewer))  // leaving: the handler checks who
        declare(TenancyV1.LoggerService.RegisterLogger.self, .tenantRole(.technician))
        declare(TenancyV1.LoggerService.GetLogger.self, .tenantRole(.viewer), .logger)
        declare(TenancyV1.LoggerService.ListLoggers.self, .tenantRole(.viewer))
        declare(TenancyV1.LoggerService.ProvisionLoggerCredential.self, .tenantRole(.technician))
        declare(TenancyV1.LoggerService.RotateLoggerCredential.self, .tenantRole(.technician), .logger)
        declare(TenancyV1.LoggerService.RevokeLoggerCredential.self, .tenantRole(.technician))
        declare(TenancyV1.LoggerService.DecommissionLogger.self, .tenantRole(.admin))
        declare(TenancyV1.MeterService.CreateMeter.self, .tenantRole(.technician))
        declare(TenancyV1.MeterService.GetMeter.self, .tenantRole(.viewer), .logger)
        declare(TenancyV1.MeterService.ListMeters.self, .tenantRole(.viewer), .logger)
        declare(TenancyV1.MeterService.UpdateMeter.self, .tenantRole(.technician))
        declare(TenancyV1.MeterService.CreateChannel.self, .tenantRole(.technician))
        declare(TenancyV1.MeterService.GetChannel.self, .tenantRole(.viewer), .logger)
        declare(TenancyV1.MeterService.ListChannels.self, .tenantRole(.viewer), .logger)
        declare(TenancyV1.MeterService.UpdateChannel.self, .tenantRole(.technician))

        // Telemetry: loggers write, tenant members read.
        declare(TelemetryV1.IngestService.Ingest.self, .logger)
        declare(TelemetryV1.QueryService.ReadRaw.self, .tenantRole(.viewer))
        declare(TelemetryV1.QueryService.ReadAggregates.self, .tenantRole(.viewer))
        declare(TelemetryV1.QueryService.ReadEnergy.self, .tenantRole(.viewer))
        declare(TelemetryV1.QueryService.ReadLatest.self, .tenantRole(.viewer))

        // Consent and privacy.
        declare(ConsentV1.ConsentService.PublishPolicyVersion.self, .platformOperator)
        declare(ConsentV1.ConsentService.ListPolicyVersions.self, .anyToken)
        declare(ConsentV1.ConsentService.GetPolicyVersion.self, .anyToken)
        declare(ConsentV1.ConsentService.Sign.self, .siteResponsible)
        declare(ConsentV1.ConsentService.Revoke.self, .siteResponsible, .tenantRole(.owner))
        declare(ConsentV1.ConsentService.GetStatus.self, .tenantRole(.viewer))
        declare(ConsentV1.ConsentService.ListReceipts.self, .tenantRole(.admin), .siteResponsible)
        declare(ConsentV1.ConsentService.GetVerificationKeys.self, .anyone)
        declare(PrivacyV1.PrivacyService.ExportTelemetry.self, .tenantRole(.viewer))
        declare(PrivacyV1.PrivacyService.AccessPersonalData.self, .person)
        declare(PrivacyV1.PrivacyService.RequestErasure.self, .person)
        declare(PrivacyV1.PrivacyService.GetErasureStatus.self, .person)
        declare(PrivacyV1.PrivacyService.OffboardTenant.self, .platformOperator)
        declare(PrivacyV1.PrivacyService.GetOffboardingStatus.self, .platformOperator)
        declare(AuditV1.AuditService.ListEvents.self, .tenantRole(.admin), .platformOperator)
        declare(AuditV1.AuditService.VerifyChain.self, .tenantRole(.admin), .platformOperator)
        return table
    }()

    /// Whether `principal` may call `method` in the call's tenant: any one requirement met; a
    /// method not in the table is denied.
    public static func allows(_ principal: Principal, _ method: String, tenantID: String?) -> Bool {
        guard let requirements = requirements[method] else { return false }
        return requirements.contains { $0.isMet(by: principal, tenantID: tenantID) }
    }
}
