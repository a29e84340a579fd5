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

    /// Sends GOAWAY on every connection and waits up to `timeout` for their calls to finish; then
    /// the calls still open end with UNAVAILABLE and the connections close with TLS close_notify
    /// (a few seconds at most), and whatever is left is closed hard.
    func drain(timeout: Duration) async {
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainRequest())
        }
        await waitForClose(until: ContinuousClock.now + timeout)
        for channel in channels.withLockedValue({ Array($0.values) }) {
            channel.pipeline.fireUserInboundEventTriggered(DrainRequest(cancelOpenCalls: true))
        }
        await waitForClose(until: ContinuousClock.now + .seconds(3))
        for channel in channels.withLockedValue({ Array($0.values) }) { try? await channel.close() }
    }

    private func waitForClose(until deadline: ContinuousClock.Instant) async {
        while count > 0, ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
