import Foundation
import Testing
import WattlineProtos

/// The committed bytes in Tests/Fixtures are what Swift and protobuf-c produce for the canonical
/// messages; Tests/python checks the same bytes against Google's implementation.
@Suite("Golden fixtures")
struct GoldenFixturesTests {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fixtures")

    @Test("encoding matches the committed bytes and decoding gives the message back", arguments: GoldenMessages.all.map(\.name))
    func fixture(name: String) throws {
        let message = try #require(GoldenMessages.all.first { $0.name == name }?.message)
        let url = Self.directory.appendingPathComponent("\(name).bin")
        let encoded = message.serializedBytes()
        if ProcessInfo.processInfo.environment["WATTLINE_WRITE_FIXTURES"] == "1" {
            try Data(encoded).write(to: url)
        }
        let committed = try [UInt8](Data(contentsOf: url))
        #expect(encoded == committed, "\(name): Swift encoding differs from Tests/Fixtures/\(name).bin")
        let decoded = try type(of: message).init(serializedBytes: committed, limits: .default)
        #expect(AnyHashable(decoded) == AnyHashable(message))
    }

    @Test("every fixture has its protobuf JSON twin naming the message type")
    func jsonTwins() throws {
        for (name, message) in GoldenMessages.all {
            let url = Self.directory.appendingPathComponent("\(name).json")
            let json = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any]
            #expect(json?["type"] as? String == type(of: message).protoName, "\(name).json")
        }
    }
}
