import Foundation
import WattlineProtos
import WattlineWire

/// GetProfile and UpdateProfile: the caller's own profile, sealed with the IMS key.
extension ImsService {
    func registerProfile(in router: inout Router) {
        router.unary(ImsV1.ImsService.GetProfile.self) { [self] request, context in
            try await getProfile(request, context)
        }
        router.unary(ImsV1.ImsService.UpdateProfile.self) { [self] request, context in
            try await updateProfile(request, context)
        }
    }

    func getProfile(_ request: ImsV1.GetProfileRequest, _ context: CallContext) async throws -> ImsV1.GetProfileResponse {
        let (identityID, _) = try await authenticatedPerson(context).ids()
        guard let person = try await db.person(identityID) else {
            throw CallFailure.unauthenticated("the identity of this token no longer exists")
        }
        var response = ImsV1.GetProfileResponse()
        response.profile = Self.profile(person, identityID)
        return response
    }

    func updateProfile(_ request: ImsV1.UpdateProfileRequest, _ context: CallContext) async throws -> ImsV1.UpdateProfileResponse {
        let (identityID, _) = try await authenticatedPerson(context).ids()
        var change = ImsStore.ProfileChange()
        if case .displayName(let name) = request.displayNameUpdate { change.displayName = try ProfileRules.displayName(name) }
        if case .phone(let phone) = request.phoneUpdate { change.phone = try ProfileRules.phone(phone) }
        if case .locale(let locale) = request.localeUpdate { change.locale = try ProfileRules.locale(locale) }
        guard let person = try await db.updateProfile(identityID, change, now: Self.nowMs()) else {
            throw CallFailure.unauthenticated("the identity of this token no longer exists")
        }
        var response = ImsV1.UpdateProfileResponse()
        response.profile = Self.profile(person, identityID)
        return response
    }

    /// The contract's Profile: e-mail and creation time from their columns, the rest sealed;
    /// an identity created without a locale reads as "en", without a change as updated at creation.
    static func profile(_ person: ImsStore.Person, _ identityID: UUID) -> ImsV1.Profile {
        var profile = person.profile ?? ImsV1.Profile()
        profile.identityID = identityID.bytes
        profile.email = person.email
        profile.createdAtMs = person.createdAt
        if profile.locale.isEmpty { profile.locale = "en" }
        if profile.updatedAtMs == 0 { profile.updatedAtMs = person.createdAt }
        return profile
    }
}
