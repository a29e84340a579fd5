import Foundation
import WattlineStore
import WattlineWire

/// Ids of a request, checked.
enum RequestID {
    /// The 16-byte id in `field`, or INVALID_ARGUMENT naming the field.
    static func parse(_ bytes: [UInt8], _ field: String) throws -> UUID {
        guard let id = UUID(bytes: bytes) else { throw CallFailure.invalidArgument("\(field) must be a 16-byte UUID") }
        return id
    }

    /// The call's tenant as the access interceptor set it (the tenant the request names).
    static func tenant(_ context: CallContext) throws -> TenantID {
        guard let text = context.tenantID, let id = UUID(uuidString: text) else {
            // The interceptor sets it for every tenant-scoped method; without it we cannot scope.
            throw CallFailure.permissionDenied("the call has no tenant")
        }
        return TenantID(id)
    }
}

/// Wall-clock milliseconds since the UNIX epoch, as the contracts carry times.
enum Clock {
    static func nowMs() -> Int64 { Int64((Date().timeIntervalSince1970 * 1_000).rounded(.down)) }
}
