import Foundation
import WattlineWire

/// A required 16-byte id field of a request.
func requiredID(_ bytes: [UInt8], _ field: String) throws -> UUID {
    guard let id = UUID(bytes: bytes) else { throw CallFailure.invalidArgument("\(field) must be a 16-byte UUID") }
    return id
}

/// An optional id field (empty = not given).
func optionalID(_ bytes: [UInt8], _ field: String) throws -> UUID? {
    bytes.isEmpty ? nil : try requiredID(bytes, field)
}
