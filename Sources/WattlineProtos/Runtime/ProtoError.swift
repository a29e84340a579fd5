/// Why a Protobuf message could not be decoded (encoding cannot fail).
public struct ProtoError: Error, Hashable, Sendable, CustomStringConvertible {
    /// A stable, extensible classification of the failure.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The input is longer than the configured maximum message size.
        public static let messageTooLarge = Code("messageTooLarge")
        /// protobuf-c rejected the bytes: truncated field, wrong wire type, length prefix past
        /// the end, over-long varint, or similar.
        public static let malformed = Code("malformed")
        /// Decoding would use more memory than the configured limit.
        public static let decodedSizeLimitExceeded = Code("decodedSizeLimitExceeded")
        /// A `string` field is not valid UTF-8.
        public static let invalidUTF8 = Code("invalidUTF8")
        /// The bytes are valid Protobuf but break a structural rule of the message
        /// (for example inconsistent columns in a telemetry batch).
        public static let invalidStructure = Code("invalidStructure")
    }

    public let code: Code
    /// Names the message type and what was wrong; never contains message content.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
