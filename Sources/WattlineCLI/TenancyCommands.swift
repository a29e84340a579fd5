import Foundation
import WattlineClient
import WattlineProtos
import WattlineStore

/// The administrator's tenancy commands, through the Swift SDK as the signed-in person (see
/// `CLISession`): create a tenant, invite a person, register with an invitation, create a site,
/// register a logger and provision its credential. They print ids (and, once, secrets) on stdout.
enum TenancyCommands {
    static func createTenant(name: String, country: String?, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let tenant = try await TenancyV1.TenantService.Client(client).createTenant(.with {
            $0.name = name
            $0.countryCode = country ?? ""
        }, options: options).tenant
        print("created tenant \(text(tenant?.tenantID ?? []))")
    }

    static func invite(tenant: String, email: String, role: String, client: WattlineClient) async throws {
        let (tenantID, invitedRole) = (try bytes(tenant), try Self.role(role))
        let options = try await CLISession.authorized(client)
        let response = try await ImsV1.ImsService.Client(client).invite(.with {
            $0.tenantID = tenantID
            $0.email = email
            $0.role = invitedRole
        }, options: options)
        print("invited \(email) as \(role): invitation \(text(response.invitation?.invitationID ?? []))")
        // The invitee needs the token; the server also delivers it (by e-mail in production).
        print("invitation token: \(response.invitationToken)")
    }

    static func register(token: String, displayName: String, password: String, client: WattlineClient) async throws {
        let response = try await ImsV1.ImsService.Client(client).registerWithInvitation(.with {
            $0.invitationToken = token
            $0.password = password
            $0.displayName = displayName
        }, options: CallOptions(timeout: .seconds(30)))
        print("registered identity \(text(response.identityID)) in tenant \(text(response.tenantID)) as \(response.role)")
    }

    static func createSite(
        tenant: String, name: String, address: String, country: String, timeZone: String, responsible: String?, client: WattlineClient
    ) async throws {
        let options = try await CLISession.authorized(client)
        let responsibleID: [UInt8]
        if let responsible, responsible != "me" {
            responsibleID = try bytes(responsible)
        } else {
            responsibleID = try await ImsV1.ImsService.Client(client).whoAmI(.init(), options: options).identityID
        }
        let tenantID = try bytes(tenant)
        let site = try await TenancyV1.SiteService.Client(client).createSite(.with {
            $0.tenantID = tenantID
            $0.name = name
            $0.address = .with {
                $0.lines = address.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                $0.countryCode = country
            }
            $0.timeZone = timeZone
            $0.responsibleIdentityID = responsibleID
        }, options: options).site
        print("created site \(text(site?.siteID ?? [])) (\(timeZone)), Responsible \(text(responsibleID))")
    }

    static func registerLogger(tenant: String, site: String, serial: String, model: String, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let (tenantID, siteID) = (try bytes(tenant), try bytes(site))
        let logger = try await TenancyV1.LoggerService.Client(client).registerLogger(.with {
            $0.tenantID = tenantID
            $0.siteID = siteID
            $0.serialNumber = serial
            $0.model = model
        }, options: options).logger
        print("registered logger \(text(logger?.loggerID ?? []))")
    }

    /// A certificate for mutual TLS: the key pair is made here and the private key never leaves
    /// this machine; only the CSR goes to the server. `--secret` asks for an API secret instead.
    static func provisionLogger(tenant: String, logger: String, outDirectory: String, secret: Bool, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let (tenantID, loggerID) = (try bytes(tenant), try bytes(logger))
        var material = TenancyV1.CredentialMaterial()
        let keyPath = outDirectory + "/logger-\(logger).key"
        if secret {
            material.material = .apiSecret(.init())
        } else {
            try FileManager.default.createDirectory(atPath: outDirectory, withIntermediateDirectories: true)
            let csrPath = outDirectory + "/logger-\(logger).csr.der"
            try Command.run("/usr/bin/openssl", [
                "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", keyPath, "-subj", "/CN=\(logger)", "-outform", "DER", "-out", csrPath,
            ])
            chmod(keyPath, 0o600)
            material.material = .csrDER([UInt8](try Data(contentsOf: URL(fileURLWithPath: csrPath))))
            unlink(csrPath)
        }
        let issued = try await TenancyV1.LoggerService.Client(client).provisionLoggerCredential(.with {
            $0.tenantID = tenantID
            $0.loggerID = loggerID
            $0.material = material
        }, options: options).issued
        let credential = text(issued?.credential?.credentialID ?? [])
        switch issued?.issued {
        case .apiSecret(let value):
            print("credential \(credential): API secret (shown once, store it on the logger): \(value)")
        case .certificateChain(let chain):
            let pem = chain.certificatesDER.map(Self.pem).joined()
            let certificatePath = outDirectory + "/logger-\(logger).pem"
            try pem.write(toFile: certificatePath, atomically: true, encoding: .utf8)
            print("credential \(credential): certificate \(certificatePath), key \(keyPath)")
        case nil:
            throw CLIError("the server issued no credential material")
        }
    }

    /// Connects as the logger with its certificate (mutual TLS, no token) and reads its own record.
    static func checkLogger(tenant: String, logger: String, client: WattlineClient) async throws {
        let (tenantID, loggerID) = (try bytes(tenant), try bytes(logger))
        let record = try await TenancyV1.LoggerService.Client(client).getLogger(.with {
            $0.tenantID = tenantID
            $0.loggerID = loggerID
        }, options: CallOptions(timeout: .seconds(10))).logger
        let state = record.map { "\($0.state)" } ?? "-"
        print("logger \(text(record?.loggerID ?? [])) authenticated by its certificate; state \(state)")
    }

    static func revokeCredential(tenant: String, credential: String, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let (tenantID, credentialID) = (try bytes(tenant), try bytes(credential))
        _ = try await TenancyV1.LoggerService.Client(client).revokeLoggerCredential(.with {
            $0.tenantID = tenantID
            $0.credentialID = credentialID
            $0.reason = "revoked with the wattline CLI"
        }, options: options)
        print("revoked credential \(credential)")
    }

    static func whoAmI(client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let me = try await ImsV1.ImsService.Client(client).whoAmI(.init(), options: options)
        print("\(me.email) (\(text(me.identityID)))\(me.platformOperator ? ", platform operator" : "")")
        for role in me.tenantRoles { print("  tenant \(text(role.tenantID)): \(role.role)") }
        for site in me.siteResponsibilities { print("  Responsible of site \(text(site.siteID)) in tenant \(text(site.tenantID))") }
    }

    // MARK: Helpers

    static func role(_ name: String) throws -> ImsV1.Role {
        switch name {
        case "owner": .owner
        case "admin": .admin
        case "technician": .technician
        case "viewer": .viewer
        default: throw CLIError("--role must be owner, admin, technician or viewer")
        }
    }

    static func bytes(_ text: String) throws -> [UInt8] {
        guard let uuid = UUID(uuidString: text) else { throw CLIError("\(text) is not a UUID") }
        return withUnsafeBytes(of: uuid.uuid) { Array($0) }
    }

    static func text(_ bytes: [UInt8]) -> String {
        guard bytes.count == 16 else { return "-" }
        let uuid = bytes.withUnsafeBytes { $0.loadUnaligned(as: uuid_t.self) }
        return UUID(uuid: uuid).uuidString.lowercased()
    }

    static func pem(_ der: [UInt8]) -> String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n\(body)\n-----END CERTIFICATE-----\n"
    }
}
