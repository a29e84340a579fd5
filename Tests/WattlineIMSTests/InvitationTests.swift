import Foundation
import Testing
import WattlineAccess
import WattlineClient
import WattlineIMS
import WattlineProtos

/// Invitations through the real RPC path, with the access interceptor in front (AccessPolicy
/// checks the tenant role; the handler checks the finer owner rule).
@Suite(.serialized) struct InvitationTests {
    @Test func anInvitationRegistersANewPersonOnce() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let owner = try await f.person("owner@example.com", tenant: tenant, role: .owner)
            let invited = try await f.invite("New.Person@Example.com ", to: tenant, as: .admin, by: owner.login)
            // ≥ 128 bits, URL-safe, e-mailed (here: captured) exactly as answered.
            #expect(invited.invitationToken.utf8.count == 43)
            #expect(invited.invitationToken.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
            #expect(f.notifier.invitations.map(\.token) == [invited.invitationToken])
            #expect(f.notifier.invitations.first?.email == "new.person@example.com")
            let invitation = try #require(invited.invitation)
            #expect(invitation.state == .pending)
            #expect(invitation.email == "new.person@example.com")
            #expect(invitation.role == .admin)
            #expect(invitation.invitedByIdentityID == owner.id.testBytes)
            #expect(invitation.expiresAtMs - invitation.createdAtMs == 7 * 24 * 3600 * 1000)

            let registered = try await f.register(invited.invitationToken, name: "  Nina New ", locale: "de-ch")
            let personID = try #require(UUID(testBytes: registered.identityID))
            #expect(registered.tenantID == tenant.testBytes)
            #expect(registered.role == .admin)
            #expect(f.tenants.member(personID, tenant) == .admin)

            // The new person signs in, and the token carries the granted role.
            let login = try await f.login("new.person@example.com")
            let claims = try f.verifier.verify(login.accessToken)
            #expect(claims.roles.contains("tenant:\(tenant.text):admin"))
            let profile = try await f.ims.getProfile(.init(), options: f.bearer(login.accessToken)).profile
            #expect(profile?.displayName == "Nina New")
            #expect(profile?.locale == "de-CH")

            // Single use.
            let reuse = await f.failure { try await f.register(invited.invitationToken, name: "Someone Else") }
            #expect(reuse?.code == 16)
            #expect(reuse?.message == ImsService.invitationFailedMessage)
            let listed = try await f.ims.listInvitations(.with { $0.tenantID = tenant.testBytes }, options: f.bearer(owner.login.accessToken))
            #expect(listed.invitations.count == 1)
            #expect(listed.invitations.first?.state == .accepted)
            #expect(listed.invitations.first?.acceptedByIdentityID == registered.identityID)
            // Garbage tokens get the same answer.
            let garbage = await f.failure { try await f.register("not-a-token") }
            #expect(garbage?.code == 16)
        }
    }

    @Test func registrationChecksThePasswordAndProfileBeforeUsingTheToken() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let owner = try await f.person("o@example.com", tenant: tenant, role: .owner)
            let token = try await f.invite("weak@example.com", to: tenant, as: .viewer, by: owner.login).invitationToken
            let short = await f.failure { try await f.register(token, password: "short") }
            #expect(short?.code == 3)
            let common = await f.failure { try await f.register(token, password: "Password1234") }
            #expect(common?.code == 3)
            #expect(common?.message.contains("common") == true)
            let control = await f.failure { try await f.register(token, password: "twelve chars\u{7}long") }
            #expect(control?.code == 3)
            let phone = await f.failure { try await f.register(token, phone: "0041 44 123 45 67") }
            #expect(phone?.code == 3)
            let noName = await f.failure { try await f.register(token, name: "   ") }
            #expect(noName?.code == 3)
            // Still pending: the real registration works.
            let registered = try await f.register(token, phone: "+41441234567")
            #expect(registered.role == .viewer)
        }
    }

    @Test func expiredAndRevokedInvitationsAreRefused() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let admin = try await f.person("admin@example.com", tenant: tenant, role: .admin)
            let expiring = try await f.invite("late@example.com", to: tenant, as: .viewer, by: admin.login, validFor: 1)
            let revoked = try await f.invite("revoked@example.com", to: tenant, as: .viewer, by: admin.login)
            let bearer = f.bearer(admin.login.accessToken)

            let revocation = try await f.ims.revokeInvitation(.with {
                $0.tenantID = tenant.testBytes
                $0.invitationID = revoked.invitation!.invitationID
            }, options: bearer)
            #expect(revocation.invitation?.state == .revoked)
            let afterRevoke = await f.failure { try await f.register(revoked.invitationToken) }
            #expect(afterRevoke?.code == 16)
            let twice = await f.failure {
                try await f.ims.revokeInvitation(.with {
                    $0.tenantID = tenant.testBytes
                    $0.invitationID = revoked.invitation!.invitationID
                }, options: bearer)
            }
            #expect(twice?.code == 9)

            try await Task.sleep(for: .milliseconds(1_200))
            let afterExpiry = await f.failure { try await f.register(expiring.invitationToken) }
            #expect(afterExpiry?.code == 16)
            let expired = try await f.ims.listInvitations(.with {
                $0.tenantID = tenant.testBytes
                $0.state = .expired
            }, options: bearer)
            #expect(expired.invitations.map(\.email) == ["late@example.com"])
            let revokedList = try await f.ims.listInvitations(.with {
                $0.tenantID = tenant.testBytes
                $0.state = .revoked
            }, options: bearer)
            #expect(revokedList.invitations.map(\.email) == ["revoked@example.com"])
            let expiredRevocation = await f.failure {
                try await f.ims.revokeInvitation(.with {
                    $0.tenantID = tenant.testBytes
                    $0.invitationID = expiring.invitation!.invitationID
                }, options: bearer)
            }
            #expect(expiredRevocation?.code == 9)
        }
    }

    @Test func anInvitationIsRevokedOnlyInItsOwnTenant() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let (tenantA, tenantB) = (newID(), newID())
            let adminA = try await f.person("a@example.com", tenant: tenantA, role: .admin)
            let adminB = try await f.person("b@example.com", tenant: tenantB, role: .admin)
            let invited = try await f.invite("x@example.com", to: tenantA, as: .viewer, by: adminA.login)
            let invitationID = invited.invitation!.invitationID
            // B names its own tenant (so AccessPolicy lets it through): the invitation is not there.
            let foreign = await f.failure {
                try await f.ims.revokeInvitation(.with {
                    $0.tenantID = tenantB.testBytes
                    $0.invitationID = invitationID
                }, options: f.bearer(adminB.login.accessToken))
            }
            #expect(foreign?.code == 5)
            // Naming A's tenant without a role there: the policy refuses.
            let notMember = await f.failure {
                try await f.ims.revokeInvitation(.with {
                    $0.tenantID = tenantA.testBytes
                    $0.invitationID = invitationID
                }, options: f.bearer(adminB.login.accessToken))
            }
            #expect(notMember?.code == 7)
            let unknown = await f.failure {
                try await f.ims.revokeInvitation(.with {
                    $0.tenantID = tenantA.testBytes
                    $0.invitationID = newID().testBytes
                }, options: f.bearer(adminA.login.accessToken))
            }
            #expect(unknown?.code == 5)
            // B's listing does not show A's invitation.
            let listB = try await f.ims.listInvitations(.with { $0.tenantID = tenantB.testBytes }, options: f.bearer(adminB.login.accessToken))
            #expect(listB.invitations.isEmpty)
            _ = try await f.register(invited.invitationToken)  // still pending
        }
    }

    @Test func aSignedInPersonAcceptsOnlyTheirOwnInvitation() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let (tenant, other) = (newID(), newID())
            let ownerID = try await f.admin.createIdentity(email: "owner@example.com", password: IMSFixture.password)
            f.tenants.setMember(ownerID, tenant, .owner)
            f.tenants.setMember(ownerID, other, .owner)
            let owner = (id: ownerID, login: try await f.login("owner@example.com"))
            let bob = try await f.person("bob@example.com")
            let eve = try await f.person("eve@example.com")
            let forBob = try await f.invite("BOB@example.com", to: tenant, as: .technician, by: owner.login)

            let stolen = await f.failure {
                try await f.ims.acceptInvitation(.with { $0.invitationToken = forBob.invitationToken }, options: f.bearer(eve.login.accessToken))
            }
            #expect(stolen?.code == 7)
            #expect(f.tenants.member(eve.id, tenant) == nil)

            let accepted = try await f.ims.acceptInvitation(.with { $0.invitationToken = forBob.invitationToken },
                                                            options: f.bearer(bob.login.accessToken))
            #expect(accepted.tenantID == tenant.testBytes)
            #expect(accepted.role == .technician)
            #expect(f.tenants.member(bob.id, tenant) == .technician)
            let again = await f.failure {
                try await f.ims.acceptInvitation(.with { $0.invitationToken = forBob.invitationToken }, options: f.bearer(bob.login.accessToken))
            }
            #expect(again?.code == 16)
            // Without a token: the policy wants a person.
            let anonymous = await f.failure { try await f.ims.acceptInvitation(.with { $0.invitationToken = forBob.invitationToken }) }
            #expect(anonymous?.code == 16)

            // Registering with an invitation for an address that has an identity: sign in instead.
            let secondForBob = try await f.invite("bob@example.com", to: other, as: .viewer, by: owner.login)
            let exists = await f.failure { try await f.register(secondForBob.invitationToken) }
            #expect(exists?.code == 6)
            // Inviting an existing member.
            let member = await f.failure { try await f.invite("bob@example.com", to: tenant, as: .viewer, by: owner.login) }
            #expect(member?.code == 6)
        }
    }

    @Test func aFailedMembershipLeavesTheInvitationPendingAndNoIdentity() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let owner = try await f.person("owner@example.com", tenant: tenant, role: .owner)
            let token = try await f.invite("later@example.com", to: tenant, as: .viewer, by: owner.login).invitationToken
            f.tenants.refuseAdds(true)
            let outage = await f.failure { try await f.register(token) }
            #expect(outage?.code == 13)
            let noIdentity = await f.loginFailure("later@example.com", IMSFixture.password)
            #expect(noIdentity?.code == 16)
            f.tenants.refuseAdds(false)
            let registered = try await f.register(token)
            #expect(registered.role == .viewer)
        }
    }

    @Test func onlyOwnersAndOperatorsInviteOwners() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let owner = try await f.person("owner@example.com", tenant: tenant, role: .owner)
            let admin = try await f.person("admin@example.com", tenant: tenant, role: .admin)
            let technician = try await f.person("tech@example.com", tenant: tenant, role: .technician)
            let staff = try await f.person("staff@wattline.example", platformOperator: true)

            let byAdmin = await f.failure { try await f.invite("o2@example.com", to: tenant, as: .owner, by: admin.login) }
            #expect(byAdmin?.code == 7)
            #expect(byAdmin?.message.contains("owner") == true)
            _ = try await f.invite("v@example.com", to: tenant, as: .viewer, by: admin.login)
            _ = try await f.invite("o2@example.com", to: tenant, as: .owner, by: owner.login)
            // An operator invites a new tenant's first owner without being a member.
            let fresh = newID()
            let first = try await f.invite("first.owner@example.com", to: fresh, as: .owner, by: staff.login)
            #expect(first.invitation?.tenantID == fresh.testBytes)
            // Below admin: the policy refuses before the handler.
            let byTechnician = await f.failure { try await f.invite("t2@example.com", to: tenant, as: .viewer, by: technician.login) }
            #expect(byTechnician?.code == 7)

            let badAddress = await f.failure { try await f.invite("not an address", to: tenant, as: .viewer, by: owner.login) }
            #expect(badAddress?.code == 3)
            let noRole = await f.failure { try await f.invite("r@example.com", to: tenant, as: .unspecified, by: owner.login) }
            #expect(noRole?.code == 3)
            let tooLong = await f.failure {
                try await f.invite("r@example.com", to: tenant, as: .viewer, by: owner.login, validFor: 30 * 24 * 3600 + 1)
            }
            #expect(tooLong?.code == 3)
        }
    }

    @Test func invitationsArePagedNewestFirst() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let tenant = newID()
            let owner = try await f.person("owner@example.com", tenant: tenant, role: .owner)
            for index in 0..<5 {
                _ = try await f.invite("p\(index)@example.com", to: tenant, as: .viewer, by: owner.login)
                try await Task.sleep(for: .milliseconds(3))
            }
            var seen: [String] = []
            var token = ""
            repeat {
                let page = try await f.ims.listInvitations(.with {
                    $0.tenantID = tenant.testBytes
                    $0.pageSize = 2
                    $0.pageToken = token
                }, options: f.bearer(owner.login.accessToken))
                #expect(page.invitations.count <= 2)
                seen += page.invitations.map(\.email)
                token = page.nextPageToken
            } while !token.isEmpty
            #expect(seen == (0..<5).reversed().map { "p\($0)@example.com" })
            let bad = await f.failure {
                try await f.ims.listInvitations(.with {
                    $0.tenantID = tenant.testBytes
                    $0.pageToken = "garbage"
                }, options: f.bearer(owner.login.accessToken))
            }
            #expect(bad?.code == 3)
        }
    }
}
