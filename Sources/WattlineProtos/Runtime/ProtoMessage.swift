/// A Wattline Protobuf message as a Swift value.
///
/// Every message in `Protos/` has a generated conformance. Encoding and decoding go through the
/// protobuf-c code generated from the same `.proto` files, so Swift, the C logger SDK and any
/// standard Protobuf implementation agree byte for byte.
public protocol ProtoMessage: Sendable, Hashable {
    /// Fully qualified Protobuf name, e.g. `wattline.health.v1.CheckRequest`.
    static var protoName: String { get }
    /// The message with every field at its default.
    init()
    /// The Protobuf encoding. Strings are sent up to their first U+0000 (protobuf-c keeps strings
    /// NUL-terminated), so callers must not put NUL characters in string fields.
    func serializedBytes() -> [UInt8]
    /// Decodes `bytes`; throws `ProtoError` on malformed, oversize or invalid input, never traps.
    init(serializedBytes bytes: UnsafeRawBufferPointer, limits: ProtoLimits) throws(ProtoError)
}

extension ProtoMessage {
    /// Decodes `bytes`; see `init(serializedBytes:limits:)`.
    public init(serializedBytes bytes: [UInt8], limits: ProtoLimits = .default) throws(ProtoError) {
        let result = bytes.withUnsafeBytes { raw in
            Result { () throws(ProtoError) in try Self(serializedBytes: raw, limits: limits) }
        }
        self = try result.get()
    }

    /// A message built by `body`, for concise construction: `CheckRequest.with { $0.service = "x" }`.
    public static func with(_ body: (inout Self) throws -> Void) rethrows -> Self {
        var message = Self()
        try body(&message)
        return message
    }
}

/// A Protobuf enum: known cases plus `unrecognized` for values added by newer peers (proto3
/// enums are open, so an unknown number is kept, not rejected).
public protocol ProtoEnum: RawRepresentable, Sendable, Hashable, CaseIterable where RawValue == Int32 {
    init(rawValue: Int32)
}

/// How an RPC streams.
public enum ProtoCallKind: Sendable, Hashable {
    case unary
    case serverStreaming
    case clientStreaming
    case bidirectionalStreaming
}

/// One RPC of a generated service: its types and its wire name.
public protocol ProtoMethod: Sendable {
    associatedtype Request: ProtoMessage
    associatedtype Response: ProtoMessage
    /// `/<package>.<Service>/<Rpc>`, the method name carried in a call header.
    static var path: String { get }
    static var kind: ProtoCallKind { get }
}
