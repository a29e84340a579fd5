import Testing
import WattlineAccess
import WattlineProtos

@Suite("Access policy")
struct AccessPolicyTests {
    @Test("every RPC in the contracts declares what it requires, and nothing else is declared")
    func coverage() {
        let methods = Set(ProtoRegistry.methods.map { $0.path })
        let declared = Set(AccessPolicy.requirements.keys)
        #expect(methods.subtracting(declared).sorted() == [], "undeclared: denied to everybody until declared")
        #expect(declared.subtracting(methods).sorted() == [], "declared for methods that do not exist")
        #expect(AccessPolicy.requirements.values.allSatisfy { !$0.isEmpty })
    }

    @Test("an undeclared method is denied even to a platform operator")
    func defaultDeny() {
        let operatorPrincipal = Principal.person(identityID: "p", sessionID: "s", grants: Grants(platformOperator: true))
        #expect(!AccessPolicy.allows(operatorPrincipal, "/wattline.nothing.v1.NoService/Anything", tenantID: nil))
    }

    static let tenant = "0190f5a8-0000-7000-8000-000000000001"
    static let otherTenant = "0190f5a8-0000-7000-8000-000000000002"

    static func person(_ role: TenantRole?, in tenant: String = tenant) -> Principal {
        .person(identityID: "i", sessionID: "s", grants: Grants(tenantRoles: role.map { [tenant: $0] } ?? [:]))
    }

    @Test("roles nest owner ⊇ admin ⊇ technician ⊇ viewer, in the call's tenant only", arguments: TenantRole.allCases)
    func roleHierarchy(held: TenantRole) {
        for needed in TenantRole.allCases {
            let requirement = Requirement.tenantRole(needed)
            #expect(requirement.isMet(by: Self.person(held), tenantID: Self.tenant) == held.includes(needed))
            #expect(!requirement.isMet(by: Self.person(held), tenantID: Self.otherTenant), "a role elsewhere grants nothing here")
            #expect(!requirement.isMet(by: Self.person(held), tenantID: nil), "no tenant scope, no tenant role")
        }
    }

    @Test("without credentials only the public methods are open")
    func anonymous() {
        let open = AccessPolicy.requirements.filter { AccessPolicy.allows(.anonymous, $0.key, tenantID: Self.tenant) }.keys.sorted()
        #expect(open == [
            ConsentV1.ConsentService.GetVerificationKeys.path,
            EchoV1.EchoService.Chat.path, EchoV1.EchoService.Collect.path,
            EchoV1.EchoService.Echo.path, EchoV1.EchoService.Expand.path,
            HealthV1.HealthService.Check.path, HealthV1.HealthService.Watch.path,
            ImsV1.IntegrationCredentialService.ExchangeClientCredentials.path,
            ImsV1.ImsService.CompletePasswordReset.path, ImsV1.ImsService.Login.path,
            ImsV1.ImsService.Refresh.path, ImsV1.ImsService.RegisterWithInvitation.path,
            ImsV1.ImsService.RequestPasswordReset.path,
        ].sorted())
    }

    @Test("a logger reaches ingest and its own configuration, nothing of people")
    func logger() {
        let logger = Principal.logger(loggerID: "l", siteID: "s", tenantID: Self.tenant, credentialID: "c")
        #expect(AccessPolicy.allows(logger, TelemetryV1.IngestService.Ingest.path, tenantID: Self.tenant))
        #expect(AccessPolicy.allows(logger, TenancyV1.MeterService.ListChannels.path, tenantID: Self.tenant))
        #expect(!AccessPolicy.allows(logger, TelemetryV1.QueryService.ReadRaw.path, tenantID: Self.tenant))
        #expect(!AccessPolicy.allows(logger, ImsV1.ImsService.WhoAmI.path, tenantID: Self.tenant))
        #expect(!AccessPolicy.allows(Self.person(.owner), TelemetryV1.IngestService.Ingest.path, tenantID: Self.tenant),
                "people do not write telemetry")
    }

    @Test("token role strings round-trip; malformed ones grant nothing; the stronger of two roles wins")
    func roleStrings() {
        let grants = Grants(roleStrings: [
            "tenant:\(Self.tenant):viewer", "tenant:\(Self.tenant):admin", "site:\(Self.tenant):abc:responsible", "platform:operator", "site:abc:responsible",
            "tenant::owner", "tenant:\(Self.otherTenant):emperor", "site:x:owner", "platform", "", "tenant:a:b:c",
        ])
        #expect(grants.tenantRoles == [Self.tenant: .admin])
        #expect(grants.responsibleSites == ["abc": Self.tenant])
        #expect(grants.platformOperator)
        #expect(Grants(roleStrings: grants.roleStrings) == grants)
    }
}
