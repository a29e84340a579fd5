import NIOCore
import WattlineProtos

/// What the server's connection handler must do after an event; the state machine does no I/O.
public enum ServerConnectionAction: Sendable, Equatable {
    /// Send these frames, in order.
    case send([Frame])
    /// A new call: start the handler for `method` on `streamID`.
    case startCall(streamID: UInt32, header: RpcV1.CallHeader)
    /// A whole request message for the call's handler; `cost` bytes of it (its last frame) are
    /// given back to the windows when the handler consumes it (`consumed`).
    case deliver(streamID: UInt32, message: ByteBuffer, cost: Int)
    /// The client will send no more messages on the call.
    case endOfRequests(streamID: UInt32)
    /// The client cancelled the call: stop its handler, send nothing more on it.
    case cancelCall(streamID: UInt32, code: UInt32)
    /// The call's send window grew: resume writing its responses.
    case resumeWriting(streamID: UInt32)
    /// The client is going away: finish open calls, accept no new ones.
    case peerGoingAway(lastStreamID: UInt32)
}

/// The server side of one connection (docs/protocol.md §1–§6), as a value type: each received
/// frame goes through `receive`, which checks it against the connection's state and returns the
/// actions to run. A `WireError` thrown from it ends the connection (send `GOAWAY`, close); stream
/// errors are turned into `STATUS` frames here and the connection carries on.
public struct ServerConnectionStateMachine: Sendable {
    private enum Phase: Sendable { case awaitingHello, active, draining(lastStreamID: UInt32) }

    private struct Stream: Sendable {
        var receiveWindow: ReceiveWindow
        var sendWindow: FlowWindow
        var assembler: MessageAssembler
        var clientHalfClosed = false
    }

    public let localSettings: WireSettings
    public private(set) var peerSettings = WireSettings.defaults
    private var phase = Phase.awaitingHello
    private var streams: [UInt32: Stream] = [:]
    private var highestStreamID: UInt32 = 0
    private var connectionReceiveWindow: ReceiveWindow
    public private(set) var connectionSendWindow: FlowWindow
    /// Streams refused for exceeding the concurrency limit; repeated abuse ends the connection.
    private var refusedStreams = 0

    public init(settings: WireSettings = .defaults) {
        localSettings = settings
        connectionReceiveWindow = ReceiveWindow(initial: settings.initialConnectionWindow)
        connectionSendWindow = FlowWindow(initial: WireSettings.defaults.initialConnectionWindow)
    }

    /// Calls currently open.
    public var openCalls: Int { streams.count }

    public mutating func receive(_ frame: Frame) throws(WireError) -> [ServerConnectionAction] {
        if case .awaitingHello = phase, frame.type != .hello {
            throw .protocolError("\(frame.type) frame before HELLO")
        }
        switch frame.type {
        case .hello: return try receiveHello(frame)
        case .open: return try receiveOpen(frame)
        case .message: return try receiveMessage(frame)
        case .halfClose:
            guard var stream = try openStream(frame) else { return [] }
            guard !stream.clientHalfClosed else { throw .protocolError("second HALF_CLOSE on stream \(frame.streamID)") }
            guard !stream.assembler.isMidMessage else {
                streams[frame.streamID] = nil  // its fragments' window went back on arrival
                return [.cancelCall(streamID: frame.streamID, code: 3),
                        .send([status(frame.streamID, code: 3, "HALF_CLOSE in the middle of a message")])]
            }
            stream.clientHalfClosed = true
            streams[frame.streamID] = stream
            return [.endOfRequests(streamID: frame.streamID)]
        case .cancel:
            let cancel = try frame.control(RpcV1.Cancel.self)
            guard streams.removeValue(forKey: frame.streamID) != nil else {
                guard frame.streamID <= highestStreamID else {
                    throw .protocolError("CANCEL on stream \(frame.streamID), which was never opened")
                }
                return []
            }
            return [.cancelCall(streamID: frame.streamID, code: cancel.code)]
        case .windowUpdate: return try receiveWindowUpdate(frame)
        case .ping:
            guard !frame.flags.contains(.ack) else { return [] }
            return [.send([Frame(type: .ping, flags: .ack, streamID: 0, payload: frame.payload)])]
        case .goAway:
            let goAway = try frame.control(RpcV1.GoAway.self)
            return [.peerGoingAway(lastStreamID: goAway.lastStreamID)]
        case .status:
            throw .protocolError("STATUS from a client")
        }
    }

    private mutating func receiveHello(_ frame: Frame) throws(WireError) -> [ServerConnectionAction] {
        guard case .awaitingHello = phase else { throw .protocolError("second HELLO") }
        let hello = try frame.control(RpcV1.Hello.self)
        let version = try WireVersion.negotiate(offered: hello.versions)
        peerSettings = try WireSettings(validating: hello.settings ?? RpcV1.Settings())
        connectionSendWindow = FlowWindow(initial: peerSettings.initialConnectionWindow)
        phase = .active
        let answer = RpcV1.Hello.with {
            $0.versions = [version]
            $0.settings = localSettings.message
            $0.agent = "wattline-server"
        }
        return [.send([.control(.hello, answer)])]
    }

    private mutating func receiveOpen(_ frame: Frame) throws(WireError) -> [ServerConnectionAction] {
        let id = frame.streamID
        guard id % 2 == 1, id > highestStreamID else {
            throw .protocolError("OPEN on stream \(id): client streams are odd and increasing (last \(highestStreamID))")
        }
        highestStreamID = id
        if case .draining(let last) = phase, id > last {
            return [.send([status(id, code: 14, "the server is draining; retry on a new connection")])]
        }
        let header = try frame.control(RpcV1.CallHeader.self)
        guard streams.count < localSettings.maxConcurrentStreams else {
            refusedStreams += 1
            if refusedStreams > 2 * localSettings.maxConcurrentStreams {
                throw WireError(.enhanceYourCalm, "client keeps exceeding max_concurrent_streams")
            }
            return [.send([status(id, code: 8, "more than \(localSettings.maxConcurrentStreams) concurrent calls")])]
        }
        let metadataSize = header.metadata.reduce(0) { total, entry in
            switch entry.value {
            case .text(let text): total + entry.key.utf8.count + text.utf8.count
            case .binary(let bytes): total + entry.key.utf8.count + bytes.count
            case nil: total + entry.key.utf8.count
            }
        }
        guard metadataSize <= localSettings.maxMetadataSize else {
            return [.send([status(id, code: 8, "metadata of \(metadataSize) bytes exceeds \(localSettings.maxMetadataSize)")])]
        }
        streams[id] = Stream(
            receiveWindow: ReceiveWindow(initial: localSettings.initialStreamWindow),
            sendWindow: FlowWindow(initial: peerSettings.initialStreamWindow),
            assembler: MessageAssembler(maxMessageSize: localSettings.maxMessageSize))
        return [.startCall(streamID: id, header: header)]
    }

    private mutating func receiveMessage(_ frame: Frame) throws(WireError) -> [ServerConnectionAction] {
        // Flow control counts every MESSAGE byte, even for a call that has just ended.
        try connectionReceiveWindow.receive(frame.payload.readableBytes)
        guard var stream = try openStream(frame) else {
            // Late bytes of an ended call: nobody consumes them, so give the connection window back.
            let frames = consumed(frame.payload.readableBytes, streamID: frame.streamID)
            return frames.isEmpty ? [] : [.send(frames)]
        }
        guard !stream.clientHalfClosed else {
            throw .protocolError("MESSAGE on stream \(frame.streamID) after HALF_CLOSE")
        }
        try stream.receiveWindow.receive(frame.payload.readableBytes)
        do {
            let message = try stream.assembler.append(frame.payload, more: frame.flags.contains(.more))
            streams[frame.streamID] = stream
            guard let message else {
                // A fragment is buffered until its message is whole (bounded by max_message_size):
                // its window goes back now, or a message larger than the window could never arrive.
                let frames = consumed(frame.payload.readableBytes, streamID: frame.streamID)
                return frames.isEmpty ? [] : [.send(frames)]
            }
            return [.deliver(streamID: frame.streamID, message: message, cost: frame.payload.readableBytes)]
        } catch {
            streams[frame.streamID] = nil
            let frames = consumed(frame.payload.readableBytes, streamID: frame.streamID)
            return [.cancelCall(streamID: frame.streamID, code: error.code),
                    .send(frames + [status(frame.streamID, code: error.code, error.message)])]
        }
    }

    private mutating func receiveWindowUpdate(_ frame: Frame) throws(WireError) -> [ServerConnectionAction] {
        let increment = try frame.windowIncrement()
        if frame.streamID == 0 {
            try connectionSendWindow.grow(by: increment)
            return streams.keys.sorted().map { .resumeWriting(streamID: $0) }
        }
        guard var stream = streams[frame.streamID] else {
            guard frame.streamID <= highestStreamID else {
                throw .protocolError("WINDOW_UPDATE on stream \(frame.streamID), which was never opened")
            }
            return []  // ended: ignored (§5)
        }
        try stream.sendWindow.grow(by: increment)
        streams[frame.streamID] = stream
        return [.resumeWriting(streamID: frame.streamID)]
    }

    /// The open stream a call frame refers to; nil for a stream that has already ended (its late
    /// frames are discarded), an error for one never opened.
    private func openStream(_ frame: Frame) throws(WireError) -> Stream? {
        if let stream = streams[frame.streamID] { return stream }
        guard frame.streamID <= highestStreamID else {
            throw .protocolError("\(frame.type) on stream \(frame.streamID), which was never opened")
        }
        return nil
    }

    /// The handler consumed `bytes` of request messages (or they were dropped with their call):
    /// replenish the windows when half is used, so a slow handler holds its client back and memory
    /// stays bounded. For a call that has ended only the connection window is replenished.
    public mutating func consumed(_ bytes: Int, streamID: UInt32) -> [Frame] {
        var frames: [Frame] = []
        if let increment = connectionReceiveWindow.release(bytes) {
            frames.append(.windowUpdate(streamID: 0, increment: increment))
        }
        if var stream = streams[streamID] {
            if let increment = stream.receiveWindow.release(bytes) {
                frames.append(.windowUpdate(streamID: streamID, increment: increment))
            }
            streams[streamID] = stream
        }
        return frames
    }

    /// How many bytes of a response the call may send now (the smaller of its window and the
    /// connection's), after which `sent` must be called.
    public func sendable(streamID: UInt32) -> Int {
        min(streams[streamID]?.sendWindow.available ?? 0, connectionSendWindow.available)
    }

    /// Records `bytes` of response messages sent on the call.
    public mutating func sent(_ bytes: Int, streamID: UInt32) throws(WireError) {
        try connectionSendWindow.consume(bytes)
        try streams[streamID]?.sendWindow.consume(bytes)
    }

    /// The handler finished: the `STATUS` frame to send; the stream is forgotten.
    public mutating func finish(streamID: UInt32, status: RpcV1.CallStatus) -> Frame? {
        guard streams.removeValue(forKey: streamID) != nil else { return nil }
        return .control(.status, streamID: streamID, status)
    }

    /// Starts a graceful drain: the `GOAWAY` to send; calls already open go on, new ones are refused.
    public mutating func beginDrain(message: String = "server shutting down") -> Frame {
        phase = .draining(lastStreamID: highestStreamID)
        return .control(.goAway, RpcV1.GoAway.with {
            $0.lastStreamID = highestStreamID
            $0.reason = .noError
            $0.message = message
        })
    }

    /// A `GOAWAY` that ends the connection now, naming the last stream that was processed.
    public func goAway(_ reason: RpcV1.GoAwayReason, _ message: String) -> Frame {
        .control(.goAway, RpcV1.GoAway.with {
            $0.lastStreamID = highestStreamID
            $0.reason = reason
            $0.message = message
        })
    }

    private func status(_ streamID: UInt32, code: UInt32, _ message: String) -> Frame {
        .control(.status, streamID: streamID, RpcV1.CallStatus.with {
            $0.code = code
            $0.message = message
        })
    }
}
