import NIOCore
import Testing
import WattlineProtos
import WattlineWire

@Suite("Frame codec")
struct FrameDecoderTests {
    static let samples: [Frame] = [
        .control(.hello, RpcV1.Hello.with { $0.versions = [1]; $0.agent = "test" }),
        .control(.open, streamID: 1, RpcV1.CallHeader.with { $0.method = "/wattline.health.v1.HealthService/Check" }),
        Frame(type: .message, flags: .more, streamID: 1, payload: ByteBuffer(bytes: [1, 2, 3])),
        Frame(type: .message, streamID: 1),
        Frame(type: .halfClose, streamID: 1),
        .control(.status, streamID: 1, RpcV1.CallStatus.with { $0.code = 5; $0.message = "no such site" }),
        .control(.cancel, streamID: 3, RpcV1.Cancel.with { $0.code = 1 }),
        .windowUpdate(streamID: 0, increment: 65_535),
        .windowUpdate(streamID: 7, increment: 1),
        .ping(0x0102_0304_0506_0708),
        .ping(42, ack: true),
        .control(.goAway, RpcV1.GoAway.with { $0.lastStreamID = 9; $0.reason = .noError }),
    ]

    private func encoded(_ frames: [Frame]) -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { frame.write(into: &buffer) }
        return buffer
    }

    private func decodeAll(_ buffer: inout ByteBuffer, _ decoder: inout FrameDecoder) throws(WireError) -> [Frame] {
        var frames: [Frame] = []
        while let frame = try decoder.next(from: &buffer) { frames.append(frame) }
        return frames
    }

    @Test("every frame type round-trips, fed all at once and byte by byte")
    func roundTrip() throws {
        var all = encoded(Self.samples)
        var decoder = FrameDecoder()
        #expect(try decodeAll(&all, &decoder) == Self.samples)
        #expect(all.readableBytes == 0)

        let bytes = encoded(Self.samples).readableBytesView
        var trickle = ByteBuffer()
        var decoder2 = FrameDecoder()
        var frames: [Frame] = []
        for byte in bytes {
            trickle.writeInteger(byte)
            frames += try decodeAll(&trickle, &decoder2)
        }
        #expect(frames == Self.samples)
    }

    @Test("control payloads decode back to their messages")
    func controlPayloads() throws {
        let status = try Self.samples[5].control(RpcV1.CallStatus.self)
        #expect(status.code == 5 && status.message == "no such site")
        #expect(try Self.samples[7].windowIncrement() == 65_535)
        let garbage = Frame(type: .status, streamID: 1, payload: ByteBuffer(bytes: [0x0a, 0xff]))
        #expect(throws: WireError.self) { try garbage.control(RpcV1.CallStatus.self) }
    }

    @Test("an oversize length is refused from the header alone, before its payload arrives")
    func oversize() {
        var buffer = ByteBuffer(bytes: [0x00, 0x40, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x01])  // 16,385 bytes
        var decoder = FrameDecoder(maxFrameSize: 16_384)
        let error = #expect(throws: WireError.self) { try decoder.next(from: &buffer) }
        #expect(error?.reason == .frameTooLarge)
        // And the decoder stays failed: the connection is over.
        var more = ByteBuffer(bytes: [0, 0, 0, 3, 0, 0, 0, 0, 1])
        #expect(throws: WireError.self) { try decoder.next(from: &more) }
    }

    @Test("protocol violations in the header are connection errors", arguments: [
        ("unknown type", [0, 0, 0, 0x09, 0, 0, 0, 0, 1] as [UInt8]),
        ("undefined flag", [0, 0, 0, 0x03, 0x01, 0, 0, 0, 1]),
        ("reserved bit", [0, 0, 0, 0x03, 0, 0x80, 0, 0, 1]),
        ("HELLO on a stream", [0, 0, 0, 0x00, 0, 0, 0, 0, 1]),
        ("OPEN on stream 0", [0, 0, 0, 0x01, 0, 0, 0, 0, 0]),
        ("HALF_CLOSE with payload", [0, 0, 1, 0x03, 0, 0, 0, 0, 1, 0]),
        ("short PING", [0, 0, 4, 0x07, 0, 0, 0, 0, 0, 1, 2, 3, 4]),
        ("long WINDOW_UPDATE", [0, 0, 5, 0x06, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
        ("empty MESSAGE fragment with MORE", [0, 0, 0, 0x02, 0x01, 0, 0, 0, 1]),
    ])
    func violations(name: String, bytes: [UInt8]) {
        var buffer = ByteBuffer(bytes: bytes)
        var decoder = FrameDecoder()
        let error = #expect(throws: WireError.self, "\(name)") { try decoder.next(from: &buffer) }
        #expect(error?.reason == .protocolError, "\(name)")
    }

    @Test("a zero or oversized window increment is refused")
    func badIncrement() {
        for value: UInt32 in [0, 0x8000_0000] {
            var payload = ByteBuffer()
            payload.writeInteger(value)
            let frame = Frame(type: .windowUpdate, streamID: 1, payload: payload)
            #expect(throws: WireError.self) { try frame.windowIncrement() }
        }
    }

    @Test("random bytes end in a clean error or a wait for more, never a crash or an unbounded buffer")
    func randomBytes() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<2_000 {
            let count = Int.random(in: 0..<256, using: &generator)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
            var decoder = FrameDecoder()
            do {
                while let frame = try decoder.next(from: &buffer) {
                    #expect(frame.payload.readableBytes <= decoder.maxFrameSize)
                }
                // Waiting for more: what is kept is at most one header and one frame.
                #expect(buffer.readableBytes < Frame.headerSize + decoder.maxFrameSize)
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }
}
