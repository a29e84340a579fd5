/// What a sealed column value is bound to. Its canonical encoding is
///
///     "wattline-ad-v1" | len(tenant) | tenant | len(table) | table | len(column) | column | len(row) | row
///
/// with UInt32 big-endian lengths, so a ciphertext copied to another tenant, table, column or
/// row fails to open, and no two different tuples share an encoding.
public struct AssociatedData: Sendable, Hashable {
    public static let tenantByteCount = 16
    static let label = "wattline-ad-v1"

    /// The canonical encoding, to pass as `associatedData` to `AEAD`.
    public let bytes: [UInt8]

    /// - Parameters:
    ///   - tenant: the tenant's 16-byte UUID.
    ///   - table, column: SQL names, encoded as UTF-8 exactly as given (callers should pass one
    ///     canonical spelling).
    ///   - row: the row's stable identifier bytes (e.g. a UUID or big-endian integer key).
    public init(tenant: [UInt8], table: String, column: String, row: [UInt8]) throws {
        guard tenant.count == Self.tenantByteCount else {
            throw CryptoError(.invalidInput, "tenant must be a \(Self.tenantByteCount)-byte UUID, got \(tenant.count) bytes")
        }
        var encoder = LengthPrefixed(label: Self.label, capacity: 16 + table.utf8.count + column.utf8.count + row.count)
        try encoder.append(tenant)
        try encoder.append(table.utf8)
        try encoder.append(column.utf8)
        try encoder.append(row)
        bytes = encoder.bytes
    }
}
