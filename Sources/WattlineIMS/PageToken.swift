import Foundation
import WattlineCrypto

/// Keyset page tokens of the identity service's listings: the last row's (time in ms, id) as
/// 24 bytes in base64url. Opaque to clients; a token that does not decode is INVALID_ARGUMENT.
enum PageToken {
    struct Position: Sendable, Equatable {
        var ms: Int64
        var id: UUID
    }

    static func encode(_ position: Position) -> String {
        Base64URL.encode(withUnsafeBytes(of: position.ms.bigEndian) { Array($0) } + position.id.bytes)
    }

    static func decode(_ token: String) -> Position? {
        guard token.utf8.count <= 64, let bytes = Base64URL.decode(token), bytes.count == 24,
              let id = UUID(bytes: Array(bytes[8...])) else { return nil }
        return Position(ms: bytes[..<8].reduce(Int64(0)) { $0 << 8 | Int64($1) }, id: id)
    }
}
