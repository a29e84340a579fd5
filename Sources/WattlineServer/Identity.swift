import Foundation
import Logging
import WattlineAccess
import WattlineCrypto
import WattlineIMS
import WattlineStore
import WattlineWire

/// The identity service and the access interceptor, as wattline-server runs them: tokens signed
/// with one Ed25519 key from a file shared by every node, so that any node verifies any token
/// without the database; every call authenticated and authorized before its handler.
enum Identity {
    static let issuer = "wattline"
    static let audience = "wattline"

    /// Registers the IMS and installs the access interceptor on `router`.
    static func start(
        imsConninfo: String, master: MasterKey, tokenKeyFile: String, router: inout Router, logger: Logger
    ) async throws -> ImsService {
        let signingKey = try Ed25519SigningKey(seed: MasterKeyFile.load(path: tokenKeyFile))
        let issuer = try AccessTokenIssuer(signingKey: signingKey, issuer: Self.issuer, audience: Self.audience)
        let verifier = try AccessTokenVerifier(
            keys: [signingKey.keyID: signingKey.publicKey], issuer: Self.issuer, audience: Self.audience)
        let ims = try await ImsService.open(imsConninfo: imsConninfo, master: master, issuer: issuer, verifier: verifier)
        ims.register(in: &router)
        router.intercept(AccessInterceptor(verifier: verifier, directory: ImsDirectory(ims: ims)))
        logger.info("identity service ready; access tokens signed with key \(signingKey.keyID)")
        return ims
    }
}

/// What the access interceptor asks the identity service.
struct ImsDirectory: CredentialDirectory {
    let ims: ImsService

    /// Logger certificates are mapped once provisioning exists (issue "Identity and access");
    /// until then no certificate stands for a logger.
    func logger(certificateSHA256: String) async throws -> LoggerIdentity? { nil }

    func logger(secretSHA256: [UInt8]) async throws -> LoggerIdentity? { nil }

    func isSessionRevoked(_ sessionID: String) async throws -> Bool {
        try await ims.isSessionRevoked(sessionID)
    }
}
