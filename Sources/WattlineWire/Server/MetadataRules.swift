import WattlineProtos

/// The rules for call metadata (docs/protocol.md §3.3).
enum MetadataRules {
    /// What is wrong with `metadata`, or nil. Never echoes values (they may be secrets).
    static func problem(in metadata: [RpcV1.MetadataEntry]) -> String? {
        for entry in metadata {
            let key = entry.key
            guard !key.isEmpty, key.utf8.allSatisfy(isKeyByte) else {
                return "metadata key \"\(key.prefix(64).filter { $0.isASCII && !$0.isNewline })\" is not lower-case a-z 0-9 - _ ."
            }
            guard !key.hasPrefix("wattline-") else { return "metadata key \(key) is reserved" }
            switch entry.value {
            case .binary where key.hasSuffix("-bin"), nil:
                continue
            case .text(let text) where !key.hasSuffix("-bin"):
                guard text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) else {
                    return "metadata \(key) has a text value that is not printable ASCII"
                }
            default:
                return "metadata \(key): keys ending in -bin carry binary values, others text"
            }
        }
        return nil
    }

    private static func isKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."):
            true
        default:
            false
        }
    }
}
