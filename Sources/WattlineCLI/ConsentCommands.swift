import Foundation
import WattlineClient
import WattlineConsent
import WattlineCrypto
import WattlineProtos

/// Consent from the command line: sign a policy version for a site as its Responsible (the text
/// is fetched and hashed here, as an app shows it), fetch the published receipt keys, and verify
/// a receipt file offline against them.
enum ConsentCommands {
    static func sign(tenant: String, site: String, version: String, scopes: String, out: String, client: WattlineClient) async throws {
        let options = try await CLISession.authorized(client)
        let service = ConsentV1.ConsentService.Client(client)
        let shown = try await service.getPolicyVersion(.with { $0.selector = .policyVersionID(try TenancyCommands.bytes(version)) }, options: options)
        guard let policy = shown.policyVersion else { throw CLIError("no such policy version") }
        let wanted = try Self.scopes(scopes)
        print("\(policy.title) (version \(policy.version), \(policy.locale)):\n\n\(policy.text)\n")
        let receipt = try await service.sign(.with {
            $0.tenantID = try TenancyCommands.bytes(tenant)
            $0.siteID = try TenancyCommands.bytes(site)
            $0.policyVersionID = policy.policyVersionID
            $0.documentSHA256 = try sha256(Array(policy.text.utf8))
            $0.scopes = wanted
            $0.client = .with { $0.appName = "wattline"; $0.appVersion = "cli" }
            $0.requestID = UUID.v7Bytes()
        }, options: options).receipt
        guard let receipt else { throw CLIError("the server returned no receipt") }
        try write(receipt, to: out)
        print("signed consent \(TenancyCommands.text(receipt.consentID)); receipt in \(out)")
    }

    /// Publishes a policy version (platform operator); prints its id.
    static func publish(
        policy: String?, version: String, locale: String, title: String, textFile: String, scopes: String, url: String, resign: Bool,
        client: WattlineClient
    ) async throws {
        let options = try await CLISession.authorized(client)
        guard let text = FileManager.default.contents(atPath: textFile).flatMap({ String(data: $0, encoding: .utf8) }) else {
            throw CLIError("cannot read \(textFile) as UTF-8")
        }
        let published = try await ConsentV1.ConsentService.Client(client).publishPolicyVersion(.with {
            $0.policyID = try policy.map(TenancyCommands.bytes) ?? []
            $0.version = version
            $0.locale = locale
            $0.title = title
            $0.text = text
            $0.scopes = try Self.scopes(scopes)
            $0.requiresResigning = resign
            $0.policyURL = url
        }, options: options).policyVersion
        print("published policy version \(TenancyCommands.text(published?.policyVersionID ?? [])) of policy \(TenancyCommands.text(published?.policyID ?? []))")
    }

    static func scopes(_ list: String) throws -> [ConsentV1.Scope] {
        try list.split(separator: ",").map { name in
            guard let scope = ReceiptDocument.scope(named: String(name)) else {
                throw CLIError("unknown scope \(name): cloud_storage, export_third_party, analytics, bulk_download")
            }
            return scope
        }
    }

    static func write(_ receipt: ConsentV1.ConsentReceipt, to path: String) throws {
        let file = try ReceiptDocument.file(canonical: receipt.canonicalEncoding, signature: receipt.signature)
        guard FileManager.default.createFile(atPath: path, contents: Data(file)) else { throw CLIError("cannot write \(path)") }
    }

    /// The published keys as JSON: {"keys": [{"key_id": …, "public_key": hex, …}]}.
    static func keys(client: WattlineClient) async throws {
        let keys = try await ConsentV1.ConsentService.Client(client).getVerificationKeys(.init(), options: CallOptions(timeout: .seconds(10))).keys
        let json = CanonicalJSON.object(["keys": .array(keys.map { key in
            .object([
                "key_id": .string(String(decoding: key.keyID, as: UTF8.self)), "algorithm": .string("Ed25519"),
                "public_key": .string(key.publicKey.map { String(format: "%02x", $0) }.joined()),
                "valid_from_ms": .int(key.validFromMs), "valid_until_ms": .int(key.validUntilMs),
            ])
        })])
        print(String(decoding: json.bytes, as: UTF8.self))
    }

    static func scopeNames(_ value: CanonicalJSON?) -> String {
        guard case .array(let names)? = value else { return "?" }
        return names.compactMap { if case .string(let name) = $0 { name } else { nil } }.joined(separator: ",")
    }

    /// Offline: no server, only the receipt file and the keys file.
    static func verify(file: String, keys keysFile: String) throws {
        guard let receipt = FileManager.default.contents(atPath: file), let keys = FileManager.default.contents(atPath: keysFile) else {
            throw CLIError("cannot read \(file) or \(keysFile)")
        }
        var published: [String: Ed25519PublicKey] = [:]
        guard case .array(let entries)? = try CanonicalJSON.parse(Array(keys))["keys"] else { throw CLIError("\(keysFile) is not a keys file") }
        for entry in entries {
            guard case .string(let id)? = entry["key_id"], case .string(let hex)? = entry["public_key"], hex.utf8.count == 64 else { continue }
            let raw = stride(from: 0, to: 64, by: 2).compactMap { UInt8(String(Array(hex)[$0..<$0 + 2]), radix: 16) }
            published[id] = try Ed25519PublicKey(rawRepresentation: raw)
        }
        do {
            let verified = try ReceiptDocument.verify(file: Array(receipt), keys: published)
            func text(_ name: String) -> String {
                if case .string(let value)? = verified[name] { return value }
                return "?"
            }
            print("valid \(text("wl_kind")) receipt \(text("consentReceiptID")) for site \(text("wl_site_id")), scopes \(scopeNames(verified["wl_scopes"])), signed by Wattline key \(text("wl_signing_key_id"))")
        } catch let error as ReceiptDocument.VerificationError {
            print("INVALID: \(error)")
            exit(1)
        }
    }
}

extension UUID {
    static func v7Bytes() -> [UInt8] { withUnsafeBytes(of: UUID.v7().uuid) { Array($0) } }
}
