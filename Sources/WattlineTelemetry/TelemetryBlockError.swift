/// The one error type of WattlineTelemetry. Messages name the column and the offending length or
/// count, never sample values, so they are safe to log.
public struct TelemetryBlockError: Error, Sendable, Hashable, CustomStringConvertible {
    /// An open set of codes: new ones can be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        public let name: String
        package init(_ name: String) { self.name = name }

        /// Samples handed to the encoder break a rule (count, order, quality range).
        public static let invalidSamples = Code("invalidSamples")
        /// Bytes that are not a valid block of the expected summary: truncated, trailing bytes,
        /// out-of-range lengths or counts, non-canonical packing, times that do not increase.
        public static let malformed = Code("malformed")
        /// A format version this build does not read.
        public static let unsupportedVersion = Code("unsupportedVersion")
        /// The sealed block does not open: wrong key, or copied to another tenant, channel or range.
        public static let authenticationFailed = Code("authenticationFailed")

        public var description: String { name }
    }

    public let code: Code
    public let message: String

    package init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    static func malformed(_ message: String) -> TelemetryBlockError { .init(.malformed, message) }

    public var description: String { "TelemetryBlockError(\(code)): \(message)" }
}
