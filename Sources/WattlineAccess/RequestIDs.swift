import Foundation
import WattlineWire

/// A required 16-byte id field of a request; INVALID_ARGUMENT naming the field otherwise.
public func requiredID(_ bytes: [UInt8], _ field: String) throws -> UUID {
    guard bytes.count == 16 else { throw CallFailure.invalidArgument("\(field) must be a 16-byte UUID") }
    return UUID(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                       bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
}

/// An optional id field (empty = not given).
public func optionalID(_ bytes: [UInt8], _ field: String) throws -> UUID? {
    bytes.isEmpty ? nil : try requiredID(bytes, field)
}
