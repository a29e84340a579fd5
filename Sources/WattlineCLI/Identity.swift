import Foundation
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineStore
import WattlineTLS

/// `wattline ims create-operator` and `wattline login`: the first platform operator, and signing in
/// through the Swift SDK (the session is kept for the next commands, see `CLISession`). Passwords come from WATTLINE_PASSWORD or the first line of standard
/// input, never from the command line (it shows in `ps`).
enum IdentityCommands {
    static func password() throws -> String {
        if let value = ProcessInfo.processInfo.environment["WATTLINE_PASSWORD"] { return value }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw CLIError("give the password in WATTLINE_PASSWORD or on standard input")
        }
        return line
    }

    /// Creates a platform operator directly in the identity service's schema (as `wattline_ims`).
    static func createOperator(email: String, displayName: String?, dev: DevDatabase) async throws {
        let environment = ProcessInfo.processInfo.environment
        let conninfo: String
        if let url = environment["WATTLINE_IMS_DATABASE_URL"] {
            conninfo = url
        } else {
            try dev.cluster.start()
            try dev.createDatabase()
            _ = try Migrator.migrate(conninfo: dev.adminConninfo)
            conninfo = dev.imsConninfo
        }
        let keyFile = environment["WATTLINE_MASTER_KEY_FILE"] ?? FileManager.default.currentDirectoryPath + "/.wattline/keys/master.key"
        let master = try MasterKey.load(path: keyFile, environment: environment)
        let store = try await Store.open(.init(conninfo: conninfo, poolSize: 1))
        let admin = ImsAdmin(store: store, keyring: IMSKeyring(master: master))
        let id = try await admin.createIdentity(email: email, password: try password(), platformOperator: true, displayName: displayName)
        print("created platform operator \(id.uuidString.lowercased())")
    }

    /// Signs in with the Swift SDK and asks who the server thinks we are.
    static func login(email: String, client: WattlineClient) async throws {
        let ims = ImsV1.ImsService.Client(client)
        let secret = try password()
        let session = try await ims.login(.with {
            $0.email = email
            $0.password = secret
        }, options: CallOptions(timeout: .seconds(10)))
        try CLISession(email: email, refreshToken: session.refreshToken).save()
        let me = try await ims.whoAmI(.init(), options: CallOptions(timeout: .seconds(5), authorization: session.accessToken))
        let seconds = max(0, (session.accessTokenExpiresAtMs - Int64(Date().timeIntervalSince1970 * 1_000)) / 1_000)
        print("signed in as \(me.email)\(me.platformOperator ? " (platform operator)" : "");"
              + " access token valid for \(seconds) s; session kept in \(CLISession.path) (tokens not shown)")
    }
}

struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
