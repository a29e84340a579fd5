import WattlineCrypto

/// The master key-encryption key with its public id. It wraps the data keys and is never stored
/// in the database: it comes from a key file (development: `.wattline/keys/master.key`) or the
/// environment.
public struct MasterKey: Sendable {
    public let wrapper: KeyWrapper
    public var id: String { wrapper.masterKeyID }

    /// The id is derived from the key (an HMAC of a fixed label, 8 bytes in hex): stable, and
    /// revealing nothing about the key.
    public init(_ key: SecretKey) throws {
        let fingerprint = try BlindIndex(key: key).index(Array("wattline-master-key-id".utf8)).prefix(8)
        self.wrapper = KeyWrapper(masterKey: key, masterKeyID: fingerprint.map { String(format2: $0) }.joined())
    }

    /// Loads the key from `path`, or from `WATTLINE_MASTER_KEY` (hex) when set.
    public static func load(path: String, environment: [String: String]) throws -> MasterKey {
        if let hex = environment["WATTLINE_MASTER_KEY"] {
            return try MasterKey(MasterKeyFile.fromEnvironment(value: hex))
        }
        return try MasterKey(MasterKeyFile.load(path: path))
    }
}

extension String {
    /// Two lower-case hex digits.
    init(format2 byte: UInt8) {
        let digits = Array("0123456789abcdef")
        self = String([digits[Int(byte >> 4)], digits[Int(byte & 0x0f)]])
    }
}
