import Foundation

/// The client's IP address from `PeerIdentity.remoteAddress` (SwiftNIO's description, such as
/// "[IPv4]127.0.0.1/127.0.0.1:50312" or "[IPv6]::1:50312"), without the port.
public enum SourceAddress {
    /// The textual address ("203.0.113.7", "2001:db8::1"), or nil when there is none (tests
    /// without a socket, Unix sockets).
    public static func ip(fromRemoteAddress remote: String?) -> String? {
        guard var text = remote, !text.isEmpty else { return nil }
        let family: Int32
        if text.hasPrefix("[IPv4]") {
            family = AF_INET
            text.removeFirst(6)
        } else if text.hasPrefix("[IPv6]") {
            family = AF_INET6
            text.removeFirst(6)
        } else if text.hasPrefix("[") {
            return nil  // [UDS] and anything else
        } else {
            family = text.contains("::") || text.filter({ $0 == ":" }).count > 1 ? AF_INET6 : AF_INET
        }
        if let slash = text.lastIndex(of: "/") { text = String(text[text.index(after: slash)...]) }
        // The port follows the last colon (NIO does not bracket IPv6 addresses).
        if let colon = text.lastIndex(of: ":"), text[text.index(after: colon)...].allSatisfy(\.isNumber),
           family == AF_INET || text[..<colon].contains(":") {
            text = String(text[..<colon])
        }
        text = text.trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        return canonical(text, family: family)
    }

    /// inet_pton then inet_ntop: one spelling per address; IPv4-mapped IPv6 becomes IPv4.
    private static func canonical(_ text: String, family: Int32) -> String? {
        if family == AF_INET {
            var address = in_addr()
            guard inet_pton(AF_INET, text, &address) == 1 else { return nil }
            return withUnsafeBytes(of: &address) { ntop(AF_INET, $0.baseAddress!, Int(INET_ADDRSTRLEN)) }
        }
        var address = in6_addr()
        guard inet_pton(AF_INET6, text, &address) == 1 else { return nil }
        let bytes = withUnsafeBytes(of: address) { Array($0) }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12...].map(String.init).joined(separator: ".")
        }
        return withUnsafeBytes(of: &address) { ntop(AF_INET6, $0.baseAddress!, Int(INET6_ADDRSTRLEN)) }
    }

    private static func ntop(_ family: Int32, _ address: UnsafeRawPointer, _ length: Int) -> String? {
        var buffer = [CChar](repeating: 0, count: length)
        guard inet_ntop(family, address, &buffer, socklen_t(length)) != nil else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// What sign-in throttling counts: an IPv4 address, or the /64 prefix of an IPv6 address
    /// (one subscriber usually holds a whole /64).
    public static func throttleKey(_ ip: String) -> String {
        guard ip.contains(":") else { return "ip4:" + ip }
        var address = in6_addr()
        guard inet_pton(AF_INET6, ip, &address) == 1 else { return "ip6:" + ip }
        let bytes = withUnsafeBytes(of: address) { Array($0.prefix(8)) }
        return "ip6/64:" + bytes.map { String(format: "%02x", $0) }.joined()
    }
}
