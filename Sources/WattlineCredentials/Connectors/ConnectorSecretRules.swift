import Foundation
import WattlineWire

/// The contract's rules for a connector secret's fields (ims.proto, ConnectorSecret).
enum ConnectorSecretRules {
    static let maxValueBytes = 8_192
    static let maxDescription = 200
    static let maxEndpoint = 2_048
    /// Secrets one tenant may hold (ListConnectorSecrets returns them all, unpaged).
    static let maxPerTenant = 100

    /// 1 to 64 of a-z, 0-9, '.', '_' and '-' (the migration's CHECK says the same).
    static func checkName(_ name: String) throws {
        guard isValidName(name) else {
            throw CallFailure.invalidArgument("name must be 1 to 64 characters of a-z, 0-9, '.', '_' and '-'")
        }
    }

    static func isValidName(_ name: String) -> Bool {
        let utf8 = name.utf8
        return (1...64).contains(utf8.count) && utf8.allSatisfy { byte in
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"): true
            default: false
            }
        }
    }

    static func checkValue(_ value: [UInt8]) throws {
        guard (1...maxValueBytes).contains(value.count) else {
            throw CallFailure.invalidArgument("value must be 1 to 8192 bytes")
        }
    }

    /// Empty, or an absolute URL with a scheme and a host and without user info: the endpoint is
    /// returned by every listing, so credentials must not hide in it.
    static func checkEndpoint(_ endpoint: String) throws {
        guard !endpoint.isEmpty else { return }
        try TextRules.check(endpoint, "endpoint", max: maxEndpoint)
        guard !endpoint.unicodeScalars.contains(where: { $0.properties.isWhitespace }),
              let components = URLComponents(string: endpoint),
              let scheme = components.scheme, !scheme.isEmpty,
              let host = components.host, !host.isEmpty
        else {
            throw CallFailure.invalidArgument("endpoint must be an absolute URL with a scheme and a host")
        }
        guard components.user == nil, components.password == nil else {
            throw CallFailure.invalidArgument("endpoint must not contain user info; put credentials into value")
        }
    }
}
