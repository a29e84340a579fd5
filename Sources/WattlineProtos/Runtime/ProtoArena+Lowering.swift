import CProtobufC

/// Helpers the generated `lower(into:arena:)` methods use to build protobuf-c structures.
extension ProtoArena {
    /// An initialised, filled C structure for `message`.
    package func message<M: ProtoCBridged>(_ message: M) -> UnsafeMutablePointer<M.CStruct> {
        let c = allocate(M.CStruct.self)
        M.cInit(c)
        message.lower(into: c, arena: self)
        return c
    }

    /// A C array of pointers to filled structures, or `nil` when empty.
    package func messages<M: ProtoCBridged>(_ messages: [M]) -> UnsafeMutablePointer<UnsafeMutablePointer<M.CStruct>?>? {
        guard !messages.isEmpty else { return nil }
        let array = allocate(UnsafeMutablePointer<M.CStruct>?.self, count: messages.count)
        for (index, element) in messages.enumerated() {
            (array + index).initialize(to: message(element))
        }
        return array
    }

    /// A copy of `values` as a C array, or `nil` when empty.
    package func array<T>(_ values: [T]) -> UnsafeMutablePointer<T>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(T.self, count: values.count)
        values.withUnsafeBufferPointer { source in
            array.initialize(from: source.baseAddress!, count: source.count)
        }
        return array
    }

    /// `values` converted element-wise into a C array, or `nil` when empty.
    package func array<T, C>(_ values: [T], _ convert: (T) -> C) -> UnsafeMutablePointer<C>? {
        guard !values.isEmpty else { return nil }
        let array = allocate(C.self, count: values.count)
        for (index, value) in values.enumerated() {
            (array + index).initialize(to: convert(value))
        }
        return array
    }

    /// A NUL-terminated copy of `string`.
    package func cString(_ string: String) -> UnsafeMutablePointer<CChar> {
        var string = string
        return string.withUTF8 { utf8 in
            let c = allocate(CChar.self, count: utf8.count + 1)
            if let source = utf8.baseAddress {
                UnsafeMutableRawPointer(c).copyMemory(from: source, byteCount: utf8.count)
            }
            c[utf8.count] = 0
            return c
        }
    }

    /// A C array of NUL-terminated strings, or `nil` when empty.
    package func cStrings(_ strings: [String]) -> UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? {
        array(strings) { cString($0) }
    }

    /// A copy of `bytes` as protobuf-c binary data.
    package func binary(_ bytes: [UInt8]) -> ProtobufCBinaryData {
        ProtobufCBinaryData(len: bytes.count, data: array(bytes))
    }

    /// A C array of binary data, or `nil` when empty.
    package func binaries(_ values: [[UInt8]]) -> UnsafeMutablePointer<ProtobufCBinaryData>? {
        array(values) { binary($0) }
    }
}

/// Conversions between Swift enums and the C enums protobuf-c generates.
package enum ProtoCEnum {
    package static func lower<C: RawRepresentable>(_ value: some ProtoEnum, as type: C.Type = C.self) -> C
    where C.RawValue: FixedWidthInteger {
        C(rawValue: C.RawValue(truncatingIfNeeded: value.rawValue))!
    }

    package static func lift<E: ProtoEnum, C: RawRepresentable>(_ value: C, as type: E.Type = E.self) -> E
    where C.RawValue: FixedWidthInteger {
        E(rawValue: Int32(truncatingIfNeeded: value.rawValue))
    }
}
