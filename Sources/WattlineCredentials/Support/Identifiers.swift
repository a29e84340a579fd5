import Foundation
import WattlineStore
import WattlineWire

extension UUID {
    /// The 16 bytes, as ids travel in the contracts.
    var bytes: [UInt8] { withUnsafeBytes(of: uuid) { Array($0) } }
    /// Lowercase text, as tokens, grants and certificates name ids.
    var lowercased: String { uuidString.lowercased() }

    init?(bytes: [UInt8]) {
        guard bytes.count == 16 else { return nil }
        self.init(uuid: (bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                         bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]))
    }

    /// RFC 9562 UUIDv7: 48-bit milliseconds, version, random (ids sort by creation).
    static func v7(now: Int64) -> UUID {
        var bytes = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in 6..<16 { bytes[index] = generator.next() }
        let ms = UInt64(max(0, now))
        for index in 0..<6 { bytes[index] = UInt8(truncatingIfNeeded: ms >> (8 * (5 - index))) }
        bytes[6] = 0x70 | (bytes[6] & 0x0F)
        bytes[8] = 0x80 | (bytes[8] & 0x3F)
        return UUID(bytes: bytes)!
    }
}

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
