/// Sealed text columns: each value bound to its tenant, table, column and row, so a ciphertext
/// copied elsewhere does not open.
extension TenantKeyring {
    public func sealText(_ text: String, _ tx: borrowing TenantTransaction, _ table: String, _ column: String, row: [UInt8]) throws -> [UInt8] {
        try seal(Array(text.utf8), tx, table: table, column: column, row: row)
    }

    /// The text of a sealed column; NULL reads as empty.
    public func openText(_ sealed: [UInt8]?, _ tx: borrowing TenantTransaction, _ table: String, _ column: String, row: [UInt8]) throws -> String {
        guard let sealed else { return "" }
        return String(decoding: try open(sealed, tx, table: table, column: column, row: row), as: UTF8.self)
    }
}
