import Foundation
import Testing
import WattlineAccess
import WattlineClient
import WattlineIMS
import WattlineProtos

@Suite(.serialized) struct ProfileTests {
    @Test func theProfileChangesFieldByField() async throws {
        try await IMSFixture.with(interceptor: true) { f in
            let person = try await f.person("profile@example.com", displayName: "Pat Profile")
            let bearer = f.bearer(person.login.accessToken)
            let initial = try #require(try await f.ims.getProfile(.init(), options: bearer).profile)
            #expect(initial.identityID == person.id.testBytes)
            #expect(initial.email == "profile@example.com")
            #expect(initial.displayName == "Pat Profile")
            #expect(initial.phone == "")
            #expect(initial.locale == "en")
            #expect(initial.createdAtMs > 0)

            let updated = try #require(try await f.ims.updateProfile(.with {
                $0.phoneUpdate = .phone("+41441234567")
                $0.localeUpdate = .locale("sr-latn-rs")
            }, options: bearer).profile)
            #expect(updated.displayName == "Pat Profile")  // unset: kept
            #expect(updated.phone == "+41441234567")
            #expect(updated.locale == "sr-Latn-RS")
            #expect(updated.updatedAtMs >= initial.createdAtMs)

            let renamed = try #require(try await f.ims.updateProfile(.with {
                $0.displayNameUpdate = .displayName("Pat Renamed")
                $0.phoneUpdate = .phone("")
            }, options: bearer).profile)
            #expect(renamed.displayName == "Pat Renamed")
            #expect(renamed.phone == "")
            #expect(renamed.locale == "sr-Latn-RS")
            let read = try await f.ims.getProfile(.init(), options: bearer).profile
            #expect(read == renamed)
            // WhoAmI shows the new name.
            #expect(try await f.ims.whoAmI(.init(), options: bearer).displayName == "Pat Renamed")
        }
    }

    @Test func malformedValuesAreRefusedAndNothingChanges() async throws {
        try await IMSFixture.with { f in
            let person = try await f.person("strict@example.com", displayName: "Strict")
            let bearer = f.bearer(person.login.accessToken)
            let invalid: [ImsV1.UpdateProfileRequest] = [
                .with { $0.displayNameUpdate = .displayName("") },
                .with { $0.displayNameUpdate = .displayName(String(repeating: "n", count: 101)) },
                .with { $0.displayNameUpdate = .displayName("bell\u{7}") },
                .with { $0.displayNameUpdate = .displayName("right\u{202E}to left") },
                .with { $0.phoneUpdate = .phone("041 44 123 45 67") },
                .with { $0.phoneUpdate = .phone("+0441234567") },
                .with { $0.phoneUpdate = .phone("+1234") },
                .with { $0.phoneUpdate = .phone("+1234567890123456") },
                .with { $0.localeUpdate = .locale("") },
                .with { $0.localeUpdate = .locale("english") },
                .with { $0.localeUpdate = .locale("de_CH") },
                .with { $0.localeUpdate = .locale("de-") },
                .with { $0.localeUpdate = .locale("x") },
                // A valid name with an invalid phone: all or nothing.
                .with {
                    $0.displayNameUpdate = .displayName("Changed")
                    $0.phoneUpdate = .phone("12")
                },
            ]
            for request in invalid {
                let status = await f.failure { try await f.ims.updateProfile(request, options: bearer) }
                #expect(status?.code == 3, "\(request)")
            }
            let profile = try await f.ims.getProfile(.init(), options: bearer).profile
            #expect(profile?.displayName == "Strict")
            #expect(profile?.phone == "")
            let anonymous = await f.failure { try await f.ims.getProfile(.init()) }
            #expect(anonymous?.code == 16)
        }
    }

    @Test func thePeopleDirectoryNamesLivePeopleOnly() async throws {
        try await IMSFixture.with { f in
            let anna = try await f.admin.createIdentity(email: "anna@example.com", password: IMSFixture.password, displayName: "Anna")
            let ben = try await f.admin.createIdentity(email: "ben@example.com", password: IMSFixture.password)
            let gone = try await f.admin.createIdentity(email: "gone@example.com", password: IMSFixture.password, displayName: "Gone")
            let raw = try f.adminConnection()
            try raw.query("UPDATE ims.identities SET erased_at = now() WHERE identity_id = $1", [.uuid(gone)])
            let people = try await f.service.peopleDirectory.people(
                [anna.text, ben.uuidString, gone.text, newID().text, "not a uuid"])
            #expect(people.count == 2)
            #expect(people[anna.text] == PersonSummary(email: "anna@example.com", displayName: "Anna"))
            #expect(people[ben.uuidString] == PersonSummary(email: "ben@example.com", displayName: ""))
            let standalone = ImsPeopleDirectory(store: f.store, keyring: f.keyring)
            #expect(try await standalone.people([anna.text]).count == 1)
            #expect(try await standalone.people([]).isEmpty)
        }
    }
}
