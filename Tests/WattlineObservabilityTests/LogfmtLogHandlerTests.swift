import Logging
import Synchronization
import Testing
@testable import WattlineObservability

/// Lines captured from a LogfmtLogHandler instead of stderr.
final class CapturedLines: Sendable {
    private let lines = Mutex<[String]>([])
    var all: [String] { lines.withLock { $0 } }

    func logger(label: String = "wattline.test", level: Logger.Level = .info) -> Logger {
        Logger(label: label) { label in
            LogfmtLogHandler(label: label, level: level, output: LogOutput { line in self.lines.withLock { $0.append(line) } })
        }
    }
}

@Suite struct LogfmtLogHandlerTests {
    @Test func oneLineWithFixedFieldsFirst() throws {
        let captured = CapturedLines()
        captured.logger().info("serving", metadata: ["port": "7443"])
        let line = try #require(captured.all.first)
        #expect(captured.all.count == 1)
        #expect(line.hasSuffix(" level=info label=wattline.test msg=\"serving\" port=7443\n"))
        #expect(line.wholeMatch(of: /ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z .*\n/) != nil)
    }

    @Test func messagesCannotBreakOrForgeLines() throws {
        let captured = CapturedLines()
        captured.logger().warning("bad \"client\"\nts=0 level=critical msg=\"forged\"\r\u{2028}\\ end\u{7}")
        let line = try #require(captured.all.first)
        #expect(line.filter { $0 == "\n" || $0 == "\r\n" }.count == 1)
        #expect(line.hasSuffix(
            #"msg="bad \"client\"\nts=0 level=critical msg=\"forged\"\r\u2028\\ end\u0007""# + "\n"))
    }

    @Test func metadataIsSortedQuotedFlattenedAndSanitized() throws {
        let captured = CapturedLines()
        var logger = captured.logger()
        logger[metadataKey: "connection"] = "17"
        logger.info("call", metadata: [
            "method": "/wattline.health.v1.HealthService/Check",
            "peer": ["ip": "127.0.0.1", "port": "50123"],
            "note": "two words",
            "empty": "",
            "evil key=\"x\"\n": "line\nbreak",
            "list": ["a", "b"],
        ])
        let line = try #require(captured.all.first)
        let expected = [
            #"connection=17"#, #"empty="""#, #"evil_key__x__="line\nbreak""#,
            #"list="[\"a\", \"b\"]""#, #"method=/wattline.health.v1.HealthService/Check"#, #"note="two words""#,
            #"peer.ip=127.0.0.1"#, #"peer.port=50123"#,
        ].joined(separator: " ")
        #expect(line.hasSuffix(#"msg="call" "# + expected + "\n"), "\(line)")
    }

    @Test func errorsAndLevels() throws {
        struct Failure: Error, CustomStringConvertible { var description: String { "disk \"full\"" } }
        let captured = CapturedLines()
        let logger = captured.logger(level: .notice)
        logger.info("hidden")
        logger.error("write failed", error: Failure())
        #expect(captured.all.count == 1)
        let line = try #require(captured.all.first)
        #expect(line.contains(" level=error "))
        #expect(line.hasSuffix(#"msg="write failed" error="disk \"full\"""# + "\n"))
    }

    @Test func copiesKeepTheirOwnLevelAndMetadata() {
        let captured = CapturedLines()
        var first = captured.logger()
        first[metadataKey: "who"] = "first"
        var second = first
        second.logLevel = .error
        second[metadataKey: "who"] = "second"
        #expect(first.logLevel == .info)
        #expect(first[metadataKey: "who"] == "first")
        #expect(second[metadataKey: "who"] == "second")
    }
}
