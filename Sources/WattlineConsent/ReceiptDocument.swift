import Foundation
import WattlineCrypto
import WattlineProtos

/// A consent receipt as signed JSON (docs/privacy.md, "Receipts"): the members of the Kantara
/// Consent Receipt Specification v1.1, and Wattline's prefixed "wl_". `canonical` is its RFC 8785
/// encoding, the bytes the Ed25519 signature covers. A receipt file is the canonical JSON of
/// `{"receipt": …, "signature": base64url}`; `verify` accepts only a file in exactly that form, so
/// changing any byte of it (even spacing) fails.
public struct ReceiptDocument: Sendable {
    public static let specification = "KI-CR-v1.1.0"

    public let json: CanonicalJSON
    public var canonical: [UInt8] { json.bytes }

    /// The facts a receipt states.
    public struct Facts: Sendable {
        public var receiptID: UUID
        public var kind: ConsentV1.ReceiptKind
        public var timestampMs: Int64
        public var jurisdiction: String
        public var collectionMethod: String
        public var language: String
        public var principal: UUID
        public var controllerName: String
        public var policyURL: String
        public var policyID: UUID
        public var policyVersion: String
        public var policyVersionID: UUID
        public var policyTextSHA256: [UInt8]
        public var scopes: [ConsentV1.Scope]
        public var consentID: UUID
        public var tenantID: UUID
        public var siteID: UUID
        public var originalReceiptID: UUID?
        public var signingKeyID: String
    }

    public init(_ facts: Facts) {
        let hex = facts.policyTextSHA256.map { String(format: "%02x", $0) }.joined()
        let id = { (uuid: UUID) in CanonicalJSON.string(uuid.uuidString.lowercased()) }
        var members: [String: CanonicalJSON] = [
            "version": .string(Self.specification),
            "jurisdiction": .string(facts.jurisdiction),
            "consentTimestamp": .int(facts.timestampMs / 1_000),
            "collectionMethod": .string(facts.collectionMethod),
            "consentReceiptID": id(facts.receiptID),
            "language": .string(facts.language),
            "piiPrincipalId": id(facts.principal),
            "piiControllers": .array([
                .object(["piiController": .string(facts.controllerName), "onBehalf": .bool(false), "contact": .string("Data protection officer")]),
                .object(["piiController": .string("Wattline"), "onBehalf": .bool(true), "contact": .string("privacy@wattline.example"),
                         "piiControllerUrl": .string("https://wattline.example/privacy")]),
            ]),
            "policyUrl": .string(facts.policyURL),
            "services": .array(facts.scopes.map(Self.service)),
            "sensitive": .bool(false),
            "spiCat": .array([]),
            "wl_kind": .string(facts.kind == .revocation ? "revocation" : "consent"),
            "wl_consent_timestamp_ms": .int(facts.timestampMs),
            "wl_tenant_id": id(facts.tenantID),
            "wl_site_id": id(facts.siteID),
            "wl_consent_id": id(facts.consentID),
            "wl_policy_id": id(facts.policyID),
            "wl_policy_version": .string(facts.policyVersion),
            "wl_policy_version_id": id(facts.policyVersionID),
            "wl_policy_text_sha256": .string(hex),
            "wl_scopes": .array(facts.scopes.map { .string(Self.name($0)) }),
            "wl_signing_key_id": .string(facts.signingKeyID),
        ]
        if let original = facts.originalReceiptID { members["wl_original_receipt_id"] = id(original) }
        json = .object(members)
    }

    init(json: CanonicalJSON) { self.json = json }

    /// The scope's name in receipts and on the command line.
    public static func name(_ scope: ConsentV1.Scope) -> String {
        switch scope {
        case .cloudStorage: "cloud_storage"
        case .exportThirdParty: "export_third_party"
        case .analytics: "analytics"
        case .bulkDownload: "bulk_download"
        default: "unspecified"
        }
    }

    public static func scope(named name: String) -> ConsentV1.Scope? {
        [ConsentV1.Scope.cloudStorage, .exportThirdParty, .analytics, .bulkDownload].first { Self.name($0) == name }
    }

    /// The Kantara service and purpose a scope stands for.
    static func service(_ scope: ConsentV1.Scope) -> CanonicalJSON {
        let (service, purpose, category, thirdParty): (String, String, String, Bool) = switch scope {
        case .cloudStorage: ("Wattline cloud storage", "Store and process the site's energy telemetry for the customer's own dashboards and reports", "Core Function", false)
        case .exportThirdParty: ("Wattline data sharing", "Share the site's telemetry with third-party systems the customer connects", "Sharing with third parties", true)
        case .analytics: ("Wattline analytics", "Derived analytics, and pseudonymised aggregates to improve the product", "Research and development", false)
        default: ("Wattline bulk download", "Bulk download of the site's raw telemetry by the customer", "Core Function", false)
        }
        var purposeMembers: [String: CanonicalJSON] = [
            "purpose": .string(purpose), "purposeCategory": .array([.string(category)]), "consentType": .string("EXPLICIT"),
            "piiCategory": .array([.string("Energy telemetry of the site")]), "primaryPurpose": .bool(scope == .cloudStorage),
            "termination": .string("Until revoked, or until the customer's tenant is off-boarded"),
            "thirdPartyDisclosure": .bool(thirdParty), "wl_scope": .string(name(scope)),
        ]
        if thirdParty { purposeMembers["thirdPartyName"] = .string("Integrations chosen by the customer") }
        return .object(["service": .string(service), "purposes": .array([.object(purposeMembers)])])
    }

    // MARK: Files

    /// The receipt file: canonical JSON of the receipt and its signature.
    public static func file(canonical: [UInt8], signature: [UInt8]) throws -> [UInt8] {
        CanonicalJSON.object(["receipt": try CanonicalJSON.parse(canonical), "signature": .string(Base64URL.encode(signature))]).bytes
    }

    public enum VerificationError: Error, Equatable, CustomStringConvertible {
        case notCanonical
        case malformed(String)
        case unknownKey(String)
        case badSignature

        public var description: String {
            switch self {
            case .notCanonical: "the file is not in its canonical form (it was edited)"
            case .malformed(let what): "not a receipt file: \(what)"
            case .unknownKey(let id): "signed with key \(id), which is not among the published keys"
            case .badSignature: "the signature does not match the receipt: it was altered, or not signed by Wattline"
            }
        }
    }

    /// Checks a receipt file against the published keys (key id → public key); returns the receipt.
    public static func verify(file: [UInt8], keys: [String: Ed25519PublicKey]) throws -> CanonicalJSON {
        let parsed: CanonicalJSON
        do { parsed = try CanonicalJSON.parse(file) } catch { throw VerificationError.malformed("\(error)") }
        guard parsed.bytes == file else { throw VerificationError.notCanonical }
        guard case .object(let members)? = Optional(parsed), members.count == 2, let receipt = members["receipt"],
              case .string(let encoded)? = members["signature"], let signature = Base64URL.decode(encoded)
        else { throw VerificationError.malformed("expected {\"receipt\": {...}, \"signature\": \"...\"}") }
        guard case .string(let keyID)? = receipt["wl_signing_key_id"] else { throw VerificationError.malformed("no wl_signing_key_id") }
        guard let key = keys[keyID] else { throw VerificationError.unknownKey(keyID) }
        guard key.isValidSignature(signature, for: receipt.bytes) else { throw VerificationError.badSignature }
        return receipt
    }
}
