import WattlineStore

/// The row a channel's sealed values are bound to: its numeric id, 8 bytes big-endian.
func channelRow(_ channelID: Int64) -> [UInt8] {
    withUnsafeBytes(of: channelID.bigEndian) { Array($0) }
}
