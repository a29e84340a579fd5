import Foundation
import Logging
import NIOCore
import NIOPosix
import Testing
import WattlineAccess
import WattlineClient
import WattlineCrypto
import WattlineIMS
import WattlineProtos
import WattlineServices
import WattlineStore
import WattlineTenancy
import WattlineTestSupport
import WattlineWire

/// Stops every call that the access interceptor let through, before its handler: the matrix
/// sees exactly the interceptor's decision, and no handler changes state between cells.
struct AuthorizedProbe: ServerInterceptor {
    static let message = "probe: authorized"
    func intercept<Result: Sendable>(_ context: CallContext, next: @Sendable (CallContext) async throws -> Result) async throws -> Result {
        throw CallFailure.aborted(Self.message)
    }
}

@Suite("Authorization matrix: every registered RPC × every kind of caller × own tenant, other tenant, no credentials")
struct AuthorizationMatrixTests {
    @Test("the running server allows exactly what the contracts say, and nothing that is not declared")
    func matrix() async throws {
        try await ServicesFixture.with { fixture in
            var probed = fixture.services.router
            probed.intercept(AuthorizedProbe())
            let server = try await fixture.serve(probed)
            let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
            defer { server.close(promise: nil) }

            let paths = probed.paths
            // Every registered method has an entry in the table, and a declaration in the policy.
            let unlisted = paths.filter { AccessSpec.table[$0] == nil }
            #expect(unlisted.isEmpty, "registered but missing from the matrix: \(unlisted)")
            let undeclared = paths.filter { AccessPolicy.permissions[$0] == nil }
            #expect(undeclared.isEmpty, "registered without a declared permission: \(undeclared)")
            // The services of this issue are all there (telemetry, consent, privacy and audit come later).
            for service in ["ImsService", "IntegrationCredentialService", "TenantService", "SiteService",
                            "MembershipService", "LoggerService", "MeterService", "HealthService"] {
                #expect(paths.contains { $0.contains(".\(service)/") }, "\(service) is not registered")
            }

            var cells = 0
            var mismatches: [String] = []
            for path in paths {
                guard let allowed = AccessSpec.table[path], let method = ProtoRegistry.methods.first(where: { $0.path == path }) else { continue }
                let fields = try ProtoFields.tenantAndSite(of: method)
                for inOwn in fields.tenant == nil ? [true] : [true, false] {
                    for caller in Caller.allCases {
                        let expectAllowed = caller.isAllowed(by: allowed, tenantScoped: fields.tenant != nil, inOwn: inOwn)
                        let outcome = await fixture.call(method, as: caller, inOwn: inOwn, fields: fields, client: client)
                        cells += 1
                        let denial: UInt32 = caller == .nobody ? 16 : 7
                        let ok = expectAllowed ? outcome == .authorized : outcome == .denied(denial)
                        if !ok {
                            mismatches.append("\(path) as \(caller) in \(inOwn ? "own" : "other") tenant: expected "
                                              + "\(expectAllowed ? "authorized" : "denied \(denial)"), got \(outcome)")
                        }
                    }
                }
            }
            #expect(mismatches.isEmpty, "\(mismatches.count) of \(cells) cells disagree:\n\(mismatches.joined(separator: "\n"))")
            #expect(cells > 1_000)
            await client.close()
        }
    }
}

/// What a cell of the matrix observed.
enum Outcome: Equatable, CustomStringConvertible {
    case authorized
    case denied(UInt32)
    case other(UInt32, String)

    var description: String {
        switch self {
        case .authorized: "authorized"
        case .denied(let code): "denied \(code)"
        case .other(let code, let message): "status \(code) (\(message))"
        }
    }
}

extension ServicesFixture {
    /// Calls `method` as `caller` with a request naming tenant "own" or "other" (and site S).
    func call(_ method: any ProtoMethod.Type, as caller: Caller, inOwn: Bool, fields: ProtoFields.Numbers, client: WattlineClient) async -> Outcome {
        var bytes: [UInt8] = []
        if let tenant = fields.tenant { bytes += ProtoFields.bytesField(tenant, inOwn ? ownTenant : otherTenant) }
        if let site = fields.site { bytes += ProtoFields.bytesField(site, site_) }
        return await send(method, bytes: bytes, authorization: authorization[caller] ?? "", client: client)
    }

    private func send<M: ProtoMethod>(_ method: M.Type, bytes: [UInt8], authorization: String, client: WattlineClient) async -> Outcome {
        let options = CallOptions(timeout: .seconds(10), authorization: authorization)
        do {
            let request = try bytes.withUnsafeBytes { try M.Request(serializedBytes: $0, limits: .default) }
            switch M.kind {
            case .unary:
                _ = try await client.unary(M.self, request, options: options)
            case .serverStreaming:
                try await client.serverStreaming(M.self, request, options: options) { responses in
                    for try await _ in responses {}
                }
            case .clientStreaming:
                _ = try await client.clientStreaming(M.self, options: options) { _ in }
            case .bidirectionalStreaming:
                try await client.bidirectional(M.self, options: options) { requests, responses in
                    requests.finish()
                    for try await _ in responses {}
                }
            }
            return .other(0, "the call succeeded past the probe")
        } catch let error as RPCError {
            if error.code == 10, error.message == AuthorizedProbe.message { return .authorized }
            if error.code == 7 || error.code == 16 { return .denied(error.code) }
            return .other(error.code, error.message)
        } catch {
            return .other(999, "\(error)")
        }
    }
}

/// Field numbers of `tenant_id` and `site_id` in request messages, read from Protos/ so that the
/// matrix can build any request without knowing its Swift type.
enum ProtoFields {
    struct Numbers { var tenant: Int?; var site: Int? }

    static let sources: [String: String] = {
        let root = TestDatabase.projectRoot + "/Protos/wattline"
        var files: [String: String] = [:]
        for area in (try? FileManager.default.contentsOfDirectory(atPath: root)) ?? [] {
            let path = "\(root)/\(area)/v1/\(area).proto"
            if let text = try? String(contentsOfFile: path, encoding: .utf8) { files["wattline.\(area).v1"] = text }
        }
        return files
    }()

    /// The numbers for a method's request when its permission reads them (tenant-scoped methods).
    static func tenantAndSite(of method: any ProtoMethod.Type) throws -> Numbers {
        guard AccessPolicy.permissions[method.path]?.isTenantScoped == true else { return Numbers() }
        let name = requestName(method)
        let package = name.split(separator: ".").dropLast().joined(separator: ".")
        let message = String(name.split(separator: ".").last!)
        let source = try #require(sources[package], "no .proto for \(package)")
        let body = try #require(Self.body(of: message, in: source), "no message \(message)")
        let tenant = try #require(number(of: "tenant_id", in: body), "\(message) has no tenant_id")
        let siteScoped = [ConsentV1.ConsentService.Sign.path, ConsentV1.ConsentService.Revoke.path,
                          ConsentV1.ConsentService.ListReceipts.path].contains(method.path)
        return Numbers(tenant: tenant, site: siteScoped ? number(of: "site_id", in: body) : nil)
    }

    static func requestName<M: ProtoMethod>(_ method: M.Type) -> String { M.Request.protoName }

    static func body(of message: String, in source: String) -> Substring? {
        guard let start = source.range(of: "\nmessage \(message) {") else { return nil }
        guard let end = source[start.upperBound...].range(of: "\n}") else { return nil }
        return source[start.upperBound..<end.lowerBound]
    }

    static func number(of field: String, in body: Substring) -> Int? {
        for line in body.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count >= 4, words[0] == "bytes", words[1] == field, words[2] == "=" {
                return Int(words[3].dropLast())
            }
        }
        return nil
    }

    /// A length-delimited field holding a 16-byte id.
    static func bytesField(_ number: Int, _ id: UUID) -> [UInt8] {
        var out: [UInt8] = []
        var tag = UInt64(number << 3 | 2)
        while tag >= 0x80 { out.append(UInt8(tag & 0x7f) | 0x80); tag >>= 7 }
        out.append(UInt8(tag))
        out.append(16)
        return out + withUnsafeBytes(of: id.uuid) { Array($0) }
    }
}
