import Foundation
import WattlineAccess
import WattlineCrypto
import WattlineWire

/// A person making a call, with the session of their access token.
public struct AuthenticatedPerson: Sendable, Hashable {
    public let identityID: String
    public let sessionID: String
    public let grants: Grants
    /// When the call's access token expires (ms), when known.
    public let accessTokenExpiresAtMs: Int64?

    func ids() throws -> (identity: UUID, session: UUID) {
        guard let identity = UUID(uuidString: identityID), let session = UUID(uuidString: sessionID) else {
            throw CallFailure.unauthenticated("the access token does not name a person's session")
        }
        return (identity, session)
    }
}

extension ImsService {
    /// The signed-in person making the call: `context.principal` when the authentication
    /// interceptor has set one, otherwise the bearer token in `context.authorization`, verified
    /// here. Either way a session that has ended is refused (UNAUTHENTICATED); an integration or
    /// a logger is PERMISSION_DENIED (these methods are for people).
    public func authenticatedPerson(_ context: CallContext) async throws -> AuthenticatedPerson {
        let person: AuthenticatedPerson
        if let principal = context.principal as? Principal {
            switch principal {
            case .person(let identityID, let sessionID, let grants):
                let expiry = Self.bearerToken(context.authorization).flatMap { try? verifier.verify($0) }?.expiresAt
                person = AuthenticatedPerson(identityID: identityID, sessionID: sessionID, grants: grants,
                                             accessTokenExpiresAtMs: expiry.map { $0 * 1_000 })
            case .anonymous:
                throw CallFailure.unauthenticated("an access token is required")
            case .integration, .logger:
                throw CallFailure.permissionDenied("this method is for people signed in with a session")
            }
        } else {
            guard let token = Self.bearerToken(context.authorization) else {
                throw CallFailure.unauthenticated("an access token is required")
            }
            let claims: AccessTokenClaims
            do {
                claims = try verifier.verify(token)
            } catch {
                throw CallFailure.unauthenticated("the access token is not valid")
            }
            person = AuthenticatedPerson(identityID: claims.subject, sessionID: claims.sessionID,
                                         grants: Grants(roleStrings: claims.roles),
                                         accessTokenExpiresAtMs: claims.expiresAt * 1_000)
        }
        if try await isSessionRevoked(person.sessionID) {
            throw CallFailure.unauthenticated("the session of this access token has ended")
        }
        return person
    }

    /// "Bearer <token>" or the bare token (as the access interceptor reads it); nil when empty.
    static func bearerToken(_ authorization: String) -> String? {
        var value = Substring(authorization)
        if value.lowercased().hasPrefix("bearer ") { value = value.dropFirst("bearer ".count) }
        value = value.drop { $0 == " " }
        return value.isEmpty ? nil : String(value)
    }
}
