import Foundation
import NIOCore
import Testing
import WattlineProtos
import WattlineWire

/// The hex of docs/protocol.md §8 is what this implementation writes.
@Suite("Protocol worked example")
struct WorkedExampleTests {
    static let document = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/protocol.md")

    /// The hex bytes of one direction in the example block, in order.
    static func documentedBytes(_ direction: String) throws -> [UInt8] {
        let text = try String(contentsOf: document, encoding: .utf8)
        let example = try #require(text.components(separatedBy: "## 8.").last)
        let block = example.components(separatedBy: "```")[1]
        let parts = block.components(separatedBy: "server → client")
        try #require(parts.count == 2)
        let section = direction == "client" ? parts[0] : parts[1]
        var bytes: [UInt8] = []
        for line in section.split(separator: "\n") {
            // Hex pairs up to the description (two or more spaces then a letter or quote).
            for token in line.split(separator: " ") {
                if token == "|" { continue }
                guard token.count == 2, let byte = UInt8(token, radix: 16) else { break }
                bytes.append(byte)
            }
        }
        return bytes
    }

    @Test("the client's bytes")
    func client() throws {
        var buffer = ByteBuffer(bytes: Preface.bytes)
        Frame.control(.hello, RpcV1.Hello.with { $0.versions = [1]; $0.agent = "example/1" }).write(into: &buffer)
        Frame.control(.open, streamID: 1, RpcV1.CallHeader.with {
            $0.method = HealthV1.HealthService.Check.path
            $0.timeoutMs = 1_000
        }).write(into: &buffer)
        Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: HealthV1.CheckRequest().serializedBytes())).write(into: &buffer)
        Frame(type: .halfClose, streamID: 1).write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == (try Self.documentedBytes("client")))
    }

    @Test("the server's bytes")
    func server() throws {
        var buffer = ByteBuffer()
        Frame.control(.hello, RpcV1.Hello.with { $0.versions = [1]; $0.settings = .with { $0.maxConcurrentStreams = 100 } }).write(into: &buffer)
        let response = HealthV1.CheckResponse.with { $0.status = .serving }
        Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: response.serializedBytes())).write(into: &buffer)
        Frame.control(.status, streamID: 1, RpcV1.CallStatus()).write(into: &buffer)
        #expect(Array(buffer.readableBytesView) == (try Self.documentedBytes("server")))
    }
}
