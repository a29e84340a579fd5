import Foundation

/// A tenant's id: the scope of every tenant-owned row.
public struct TenantID: Hashable, Sendable, CustomStringConvertible {
    public let uuid: UUID
    public init(_ uuid: UUID) { self.uuid = uuid }
    public var description: String { uuid.uuidString.lowercased() }
}
