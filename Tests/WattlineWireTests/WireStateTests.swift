import NIOCore
import Testing
import WattlineProtos
import WattlineWire

@Suite("Wire settings, versions, windows, messages")
struct WireStateTests {
    @Test("zero settings mean the defaults; values out of range are protocol errors")
    func settings() throws {
        #expect(try WireSettings(validating: RpcV1.Settings()) == .defaults)
        let custom = try WireSettings(validating: .with { $0.maxFrameSize = 1 << 20; $0.maxConcurrentStreams = 1_000 })
        #expect(custom.maxFrameSize == 1 << 20 && custom.maxConcurrentStreams == 1_000)
        #expect(try WireSettings(validating: custom.message) == custom)
        for bad in [RpcV1.Settings.with { $0.maxFrameSize = 1_000 }, .with { $0.maxFrameSize = 1 << 24 },
                    .with { $0.keepaliveIntervalMs = 10 }, .with { $0.initialConnectionWindow = 10 },
                    .with { $0.initialStreamWindow = UInt32(Int32.max) + 1 }] {
            let error = #expect(throws: WireError.self) { try WireSettings(validating: bad) }
            #expect(error?.reason == .protocolError)
        }
    }

    @Test("the highest common version wins; none in common is UNSUPPORTED_VERSION")
    func versions() throws {
        #expect(try WireVersion.negotiate(offered: [1]) == 1)
        #expect(try WireVersion.negotiate(offered: [3, 2, 1], supported: [1, 2]) == 2)
        let error = #expect(throws: WireError.self) { try WireVersion.negotiate(offered: [7]) }
        #expect(error?.reason == .unsupportedVersion)
    }

    @Test("a window refuses overdraft and overflow")
    func window() throws {
        var window = FlowWindow(initial: 10)
        try window.consume(10)
        #expect(window.available == 0)
        #expect(throws: WireError.self) { try window.consume(1) }
        try window.grow(by: 5)
        #expect(window.available == 5)
        var full = FlowWindow(initial: FlowWindow.maximum)
        let error = #expect(throws: WireError.self) { try full.grow(by: 1) }
        #expect(error?.reason == .flowControlError)
    }

    @Test("fragments join into messages and an oversize message is refused before it is buffered")
    func assembler() throws {
        var assembler = MessageAssembler(maxMessageSize: 10)
        #expect(try assembler.append(ByteBuffer(bytes: [1, 2, 3]), more: true) == nil)
        #expect(assembler.isMidMessage)
        #expect(try assembler.append(ByteBuffer(bytes: [4]), more: false) == ByteBuffer(bytes: [1, 2, 3, 4]))
        #expect(try assembler.append(ByteBuffer(), more: false) == ByteBuffer())
        #expect(try assembler.append(ByteBuffer(bytes: [UInt8](repeating: 0, count: 8)), more: true) == nil)
        let error = #expect(throws: CallFailure.self) { try assembler.append(ByteBuffer(bytes: [0, 0, 0]), more: true) }
        #expect(error?.code == 8)
        #expect(!assembler.isMidMessage)
    }
}
