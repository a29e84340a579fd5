import CProtobufC

/// The generated link between a Swift message and its protobuf-c structure.
///
/// Encoding lowers the Swift value into C structures allocated in a `ProtoArena` and packs them;
/// decoding unpacks into an arena and lifts the C structures into Swift values. The arena frees
/// everything at once, so no path can leak protobuf-c memory.
package protocol ProtoCBridged: ProtoMessage {
    associatedtype CStruct
    /// Calls the generated `…__init`, which sets the descriptor and defaults.
    static func cInit(_ c: UnsafeMutablePointer<CStruct>)
    /// Fills an initialised `c`; every pointer it stores comes from `arena`.
    func lower(into c: UnsafeMutablePointer<CStruct>, arena: ProtoArena)
    /// Copies a decoded `c` into Swift values.
    init(lifting c: UnsafePointer<CStruct>) throws(ProtoError)
}

extension ProtoCBridged {
    /// The protobuf-c descriptor, read from a freshly initialised structure (the `extern const`
    /// descriptors cannot be addressed from Swift).
    package static var cDescriptor: UnsafePointer<ProtobufCMessageDescriptor> {
        withUnsafeTemporaryAllocation(of: CStruct.self, capacity: 1) { buffer in
            cInit(buffer.baseAddress!)
            return UnsafeRawPointer(buffer.baseAddress!)
                .assumingMemoryBound(to: ProtobufCMessage.self).pointee.descriptor
        }
    }

    package func encodeWithProtobufC() -> [UInt8] {
        let arena = ProtoArena(initialCapacity: 1024)
        let c = arena.message(self)
        let message = UnsafeRawPointer(c).assumingMemoryBound(to: ProtobufCMessage.self)
        let size = protobuf_c_message_get_packed_size(message)
        guard size > 0 else { return [] }
        return withExtendedLifetime(arena) {
            [UInt8](unsafeUninitializedCapacity: size) { buffer, count in
                count = protobuf_c_message_pack(message, buffer.baseAddress!)
            }
        }
    }

    package static func decodeWithProtobufC(
        _ bytes: UnsafeRawBufferPointer, limits: ProtoLimits
    ) throws(ProtoError) -> Self {
        let (arena, message) = try unpack(bytes, limits: limits)
        return try withExtendedLifetime(arena) { () throws(ProtoError) in try Self(lifting: message) }
    }

    /// Unpacks `bytes` into a new arena, after checking the size limit; the structure lives as
    /// long as the arena.
    package static func unpack(
        _ bytes: UnsafeRawBufferPointer, limits: ProtoLimits
    ) throws(ProtoError) -> (ProtoArena, UnsafePointer<CStruct>) {
        guard bytes.count <= limits.maxMessageSize else {
            throw ProtoError(
                .messageTooLarge,
                "\(protoName): \(bytes.count) bytes exceeds the limit of \(limits.maxMessageSize)")
        }
        // Most messages decode into about twice their encoded size; the arena grows if needed.
        let arena = ProtoArena(
            initialCapacity: min(2 * bytes.count + 512, limits.maxDecodedSize),
            limit: limits.maxDecodedSize)
        guard let message = arena.unpack(cDescriptor, bytes) else {
            throw arena.unpackFailure(protoName, limits: limits)
        }
        return (arena, UnsafeRawPointer(message).assumingMemoryBound(to: CStruct.self))
    }
}

extension ProtoArena {
    /// The error for a failed unpack of a `protoName` message.
    package func unpackFailure(_ protoName: String, limits: ProtoLimits) -> ProtoError {
        if exceededLimit {
            return ProtoError(
                .decodedSizeLimitExceeded,
                "\(protoName): decoding needs more than \(limits.maxDecodedSize) bytes")
        }
        return ProtoError(
            .malformed,
            "\(protoName): not a valid encoding (truncated field, wrong wire type, length past the end or bad varint)")
    }
}
