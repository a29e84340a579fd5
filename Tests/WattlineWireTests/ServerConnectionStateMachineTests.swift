import NIOCore
import Testing
import WattlineProtos
import WattlineWire

/// The server's connection logic as sequences of frames and actions, without I/O.
@Suite("Server connection state machine")
struct ServerConnectionStateMachineTests {
    private func connected(_ settings: WireSettings = .defaults) throws -> ServerConnectionStateMachine {
        var machine = ServerConnectionStateMachine(settings: settings)
        let actions = try machine.receive(.control(.hello, RpcV1.Hello.with { $0.versions = [1] }))
        guard case .send(let frames) = actions.first, frames.first?.type == .hello else {
            Issue.record("expected a HELLO answer, got \(actions)")
            return machine
        }
        #expect(try frames[0].control(RpcV1.Hello.self).versions == [1])
        return machine
    }

    private func open(_ id: UInt32) -> Frame {
        .control(.open, streamID: id, RpcV1.CallHeader.with { $0.method = HealthV1.HealthService.Check.path })
    }

    @Test("a unary call: OPEN, MESSAGE, HALF_CLOSE, then STATUS")
    func unary() throws {
        var machine = try connected()
        #expect(try machine.receive(open(1)) == [.startCall(streamID: 1, header: try open(1).control(RpcV1.CallHeader.self))])
        let request = ByteBuffer(bytes: [0x0a, 0x01, 0x78])
        #expect(try machine.receive(Frame(type: .message, streamID: 1, payload: request)) == [.deliver(streamID: 1, message: request, cost: request.readableBytes)])
        #expect(try machine.receive(Frame(type: .halfClose, streamID: 1)) == [.endOfRequests(streamID: 1)])
        #expect(machine.openCalls == 1)
        let finished = machine.finish(streamID: 1, status: RpcV1.CallStatus())
        let status = try #require(finished)
        #expect(status.type == .status && status.streamID == 1)
        #expect(machine.openCalls == 0)
        // A late frame for the finished call is discarded, not an error.
        #expect(try machine.receive(Frame(type: .halfClose, streamID: 1)) == [])
    }

    @Test("frames before HELLO, a second HELLO, or no common version end the connection")
    func handshake() throws {
        var fresh = ServerConnectionStateMachine()
        #expect(throws: WireError.self) { try fresh.receive(open(1)) }
        var machine = try connected()
        #expect(throws: WireError.self) { try machine.receive(.control(.hello, RpcV1.Hello.with { $0.versions = [1] })) }
        var other = ServerConnectionStateMachine()
        let error = #expect(throws: WireError.self) { try other.receive(.control(.hello, RpcV1.Hello.with { $0.versions = [9] })) }
        #expect(error?.reason == .unsupportedVersion)
    }

    @Test("stream ids must be odd and increasing; frames for never-opened streams are errors")
    func streamIDs() throws {
        var machine = try connected()
        _ = try machine.receive(open(3))
        #expect(throws: WireError.self) { var m = machine; _ = try m.receive(open(1)) }
        #expect(throws: WireError.self) { var m = machine; _ = try m.receive(open(4)) }
        #expect(throws: WireError.self) { var m = machine; _ = try m.receive(Frame(type: .halfClose, streamID: 5)) }
    }

    @Test("the concurrency limit refuses a call with RESOURCE_EXHAUSTED and keeps the connection")
    func concurrencyLimit() throws {
        var settings = WireSettings.defaults
        settings.maxConcurrentStreams = 2
        var machine = try connected(settings)
        _ = try machine.receive(open(1))
        _ = try machine.receive(open(3))
        let actions = try machine.receive(open(5))
        guard case .send(let frames) = actions.first else { Issue.record("expected a STATUS"); return }
        #expect(try frames[0].control(RpcV1.CallStatus.self).code == 8)
        #expect(machine.openCalls == 2)
    }

    @Test("sending past the receive window is a flow-control error; consuming replenishes it")
    func flowControl() throws {
        var settings = WireSettings.defaults
        settings.initialStreamWindow = 100
        var machine = try connected(settings)
        _ = try machine.receive(open(1))
        _ = try machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: [UInt8](repeating: 1, count: 100))))
        var overdrawn = machine
        let error = #expect(throws: WireError.self) {
            try overdrawn.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: [1])))
        }
        #expect(error?.reason == .flowControlError)
        let updates = machine.consumed(100, streamID: 1)
        #expect(updates.contains { $0.type == .windowUpdate && $0.streamID == 1 })
        #expect(try machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: [1]))).count == 1)
    }

    @Test("an oversize message ends only its call, with RESOURCE_EXHAUSTED")
    func oversizeMessage() throws {
        var settings = WireSettings.defaults
        settings.maxMessageSize = 10
        var machine = try connected(settings)
        _ = try machine.receive(open(1))
        let actions = try machine.receive(Frame(type: .message, streamID: 1, payload: ByteBuffer(bytes: [UInt8](repeating: 0, count: 11))))
        #expect(actions.first == .cancelCall(streamID: 1, code: 8))
        #expect(machine.openCalls == 0)
        _ = try machine.receive(open(3))
        #expect(machine.openCalls == 1)
    }

    @Test("cancel, ping, window updates and a graceful drain")
    func control() throws {
        var machine = try connected()
        _ = try machine.receive(open(1))
        #expect(try machine.receive(.control(.cancel, streamID: 1, RpcV1.Cancel.with { $0.code = 1 })) == [.cancelCall(streamID: 1, code: 1)])
        let pong = try machine.receive(.ping(99))
        #expect(pong == [.send([.ping(99, ack: true)])])
        #expect(try machine.receive(.ping(99, ack: true)) == [])
        _ = try machine.receive(open(3))
        let before = machine.sendable(streamID: 3)
        #expect(try machine.receive(.windowUpdate(streamID: 3, increment: 1_000)) == [.resumeWriting(streamID: 3)])
        #expect(machine.sendable(streamID: 3) == min(before + 1_000, machine.connectionSendWindow.available))
        let goAway = machine.beginDrain()
        #expect(try goAway.control(RpcV1.GoAway.self).lastStreamID == 3)
        let refused = try machine.receive(open(5))
        guard case .send(let frames) = refused.first else { Issue.record("expected a STATUS"); return }
        #expect(try frames[0].control(RpcV1.CallStatus.self).code == 14)
        #expect(machine.openCalls == 1, "the call opened before the drain goes on")
        #expect(throws: WireError.self) { try machine.receive(.control(.status, streamID: 3, RpcV1.CallStatus())) }
    }

    @Test("HALF_CLOSE in the middle of a message ends the call with INVALID_ARGUMENT; a second HALF_CLOSE is a protocol error")
    func halfCloseMidMessage() throws {
        var machine = try connected()
        _ = try machine.receive(open(1))
        _ = try machine.receive(Frame(type: .message, flags: .more, streamID: 1, payload: ByteBuffer(bytes: [1, 2])))
        let actions = try machine.receive(Frame(type: .halfClose, streamID: 1))
        #expect(actions.first == .cancelCall(streamID: 1, code: 3))
        guard case .send(let frames) = actions.last else { Issue.record("expected a STATUS"); return }
        #expect(try frames.last?.control(RpcV1.CallStatus.self).code == 3)
        _ = try machine.receive(open(3))
        _ = try machine.receive(Frame(type: .halfClose, streamID: 3))
        #expect(throws: WireError.self) { try machine.receive(Frame(type: .halfClose, streamID: 3)) }
    }

    @Test("WINDOW_UPDATE for a stream never opened is a protocol error; for an ended one it is ignored")
    func windowUpdateStreams() throws {
        var machine = try connected()
        _ = try machine.receive(open(1))
        _ = try machine.receive(.control(.cancel, streamID: 1, RpcV1.Cancel()))
        #expect(try machine.receive(.windowUpdate(streamID: 1, increment: 10)) == [])
        #expect(throws: WireError.self) { try machine.receive(.windowUpdate(streamID: 7, increment: 10)) }
    }
}
