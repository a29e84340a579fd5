import CProtobufC

/// Helpers the generated `init(lifting:)` initialisers use to copy protobuf-c structures.
package enum ProtoLift {
    /// A copy of a C array; protobuf-c leaves the pointer `NULL` when the count is 0.
    package static func array<T>(_ pointer: UnsafePointer<T>?, _ count: Int) -> [T] {
        guard count > 0, let pointer else { return [] }
        return Array(UnsafeBufferPointer(start: pointer, count: count))
    }

    /// A C array converted element-wise.
    package static func array<C, T>(
        _ pointer: UnsafePointer<C>?, _ count: Int, _ convert: (C) throws(ProtoError) -> T
    ) throws(ProtoError) -> [T] {
        guard count > 0, let pointer else { return [] }
        var result: [T] = []
        result.reserveCapacity(count)
        for index in 0..<count { result.append(try convert(pointer[index])) }
        return result
    }

    /// A string field, validated as UTF-8 (proto3 requires it; protobuf-c does not check).
    package static func string(_ pointer: UnsafePointer<CChar>?, in protoName: String) throws(ProtoError) -> String {
        guard let pointer else { return "" }
        guard let string = String(validatingCString: pointer) else {
            throw ProtoError(.invalidUTF8, "\(protoName): a string field is not valid UTF-8")
        }
        return string
    }

    /// A bytes field.
    package static func bytes(_ data: ProtobufCBinaryData) -> [UInt8] {
        array(data.data, data.len)
    }

    /// A singular message field; `nil` when absent.
    package static func message<M: ProtoCBridged>(_ pointer: UnsafePointer<M.CStruct>?) throws(ProtoError) -> M? {
        guard let pointer else { return nil }
        return try M(lifting: pointer)
    }

    /// A repeated message field.
    package static func messages<M: ProtoCBridged>(
        _ pointer: UnsafePointer<UnsafeMutablePointer<M.CStruct>?>?, _ count: Int
    ) throws(ProtoError) -> [M] {
        try array(pointer, count) { (element) throws(ProtoError) in
            try element.map { (c) throws(ProtoError) in try M(lifting: c) } ?? M()
        }
    }
}
