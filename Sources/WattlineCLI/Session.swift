import Foundation
import WattlineClient
import WattlineProtos

/// The CLI's sign-in, kept between commands like any CLI's: after `wattline login`, the refresh
/// token (never the password) is stored in `.wattline/cli/session` (mode 0600), and each command
/// exchanges it for a fresh access token, storing the rotated successor.
struct CLISession: Codable {
    var email: String
    var refreshToken: String

    /// WATTLINE_CLI_SESSION, or `.wattline/cli/session` in the working directory.
    static var path: String {
        ProcessInfo.processInfo.environment["WATTLINE_CLI_SESSION"]
            ?? FileManager.default.currentDirectoryPath + "/.wattline/cli/session"
    }

    func save() throws {
        let directory = (Self.path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let data = try JSONEncoder().encode(self)
        // Written to a new 0600 file and renamed over the old one: never world-readable, never half-written.
        let temporary = Self.path + ".new"
        FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600])
        _ = rename(temporary, Self.path)
    }

    static func load() throws -> CLISession {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError("not signed in: run `wattline login --email E` first")
        }
        return try JSONDecoder().decode(CLISession.self, from: data)
    }

    static func forget() { unlink(path) }

    /// Call options carrying a fresh access token: refreshes the stored session and saves the
    /// rotated refresh token.
    static func authorized(_ client: WattlineClient) async throws -> CallOptions {
        var session = try load()
        let ims = ImsV1.ImsService.Client(client)
        let refreshed: ImsV1.RefreshResponse
        do {
            refreshed = try await ims.refresh(.with { $0.refreshToken = session.refreshToken }, options: CallOptions(timeout: .seconds(10)))
        } catch let error as RPCError where error.code == 16 {
            forget()
            throw CLIError("the session has ended (\(error.message)); sign in again with `wattline login`")
        }
        session.refreshToken = refreshed.refreshToken
        try session.save()
        return CallOptions(timeout: .seconds(30), authorization: refreshed.accessToken)
    }
}
