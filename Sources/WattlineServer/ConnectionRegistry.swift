import NIOConcurrencyHelpers
import NIOCore
import WattlineWire

/// The open client connections, so that shutdown can drain each of them.
final class ConnectionRegistry: Sendable {
    private let channels = NIOLockedValueBox<[ObjectIdentifier: Channel]>([:])

    /// Tracks `channel` until it closes; false when `limit` connections are already open (the
    /// channel is tracked anyway, so that a drain reaches it too).
    func add(_ channel: Channel, limit: Int = .max) -> Bool {
        let id = ObjectIdentifier(channel)
        let admitted = channels.withLockedValue { channels in
            defer { channels[id] = channel }
            return channels.count < limit
        }
        channel.closeFuture.whenComplete { [channels] _ in _ = channels.withLockedValue { $0.removeValue(forKey: id) } }
        return admitted
    }

    var count: Int { channels.withLockedValue { $0.count } }

    /// Sends GOAWAY on every connection, waits up to `timeout` for their calls to finish, then
    /// closes whatever is left (its calls fail with UNAVAILABLE on the client).
    func drain(timeout: Duration) async {
        let open = channels.withLockedValue { Array($0.values) }
        for channel in open { channel.pipeline.fireUserInboundEventTriggered(DrainRequest()) }
        let deadline = ContinuousClock.now + timeout
        while count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        for channel in channels.withLockedValue({ Array($0.values) }) { channel.close(promise: nil) }
    }
}
