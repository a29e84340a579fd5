import Logging

/// A swift-log handler that writes each event as one logfmt line:
/// `ts=2025-06-01T08:30:00.125Z level=info label=wattline.server msg="serving" port=7443`.
/// Metadata keys are sorted (stable lines for grep and tests); nested dictionaries flatten to
/// dotted keys (`peer.ip=…`); the event's error, if any, is the last pair.
public struct LogfmtLogHandler: LogHandler {
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    private let label: String
    private let output: LogOutput

    public init(
        label: String, level: Logger.Level = .info, output: LogOutput = .standardError,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.logLevel = level
        self.output = output
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let explicit = event.metadata { merged.merge(explicit) { _, new in new } }
        output.write(Self.format(
            timestamp: Logfmt.timestamp(), level: event.level, label: label, message: "\(event.message)",
            metadata: merged, error: event.error))
    }

    /// The line for one event, newline included.
    static func format(
        timestamp: String, level: Logger.Level, label: String, message: String, metadata: Logger.Metadata,
        error: (any Error)?
    ) -> String {
        var line = ""
        line.reserveCapacity(128)
        Logfmt.appendPair("ts", timestamp, to: &line)
        Logfmt.appendPair("level", level.rawValue, to: &line)
        Logfmt.appendPair("label", label, to: &line)
        Logfmt.appendPair("msg", message, alwaysQuote: true, to: &line)
        appendMetadata(metadata, prefix: "", to: &line)
        if let error { Logfmt.appendPair("error", "\(error)", to: &line) }
        line.append("\n")
        return line
    }

    private static func appendMetadata(_ metadata: Logger.Metadata, prefix: String, to line: inout String) {
        for key in metadata.keys.sorted() {
            switch metadata[key]! {
            case .dictionary(let nested):
                appendMetadata(nested, prefix: prefix + key + ".", to: &line)
            case let value:
                Logfmt.appendPair(prefix + key, "\(value)", to: &line)
            }
        }
    }
}
