import Foundation
import NIOCore
import NIOPosix
import WattlineTLS

/// Connections completed in one timed run, and how many of them resumed a session.
struct HandshakeRate {
    var connections: Int
    var resumed: Int
    var seconds: Double
    /// Server CPU (user + system) spent per connection, when the server is a process we can see.
    var serverCPUPerConnection: Double?
    /// The same for the client: together they bound the rate when both share the cores.
    var clientCPUPerConnection: Double?

    var perSecond: Double { seconds > 0 ? Double(connections) / seconds : 0 }
    var resumedShare: Double { connections > 0 ? Double(resumed) / Double(connections) : 0 }

    var summary: String {
        var text = String(format: "%7.0f /s  (%6d in %.2f s, %3.0f%% resumed", perSecond, connections, seconds, resumedShare * 100)
        if let cpu = serverCPUPerConnection { text += String(format: ", CPU µs each: server %.0f", cpu * 1e6) }
        if let cpu = clientCPUPerConnection { text += String(format: ", client %.0f", cpu * 1e6) }
        return text + ")"
    }
}

/// `clients` concurrent loops of `probe` for `seconds`, spread over the event loops. With `resume`, each loop starts
/// from a session of one full handshake made before the clock starts (like s_time -reuse) and then offers the
/// session of its latest connection.
func measureHandshakes(
    port: Int, tls: TLSContext, exchange: Exchange, resume: Bool, clients: Int, seconds: Double, serverPID: pid_t?
) async throws -> HandshakeRate {
    let address = try SocketAddress(ipAddress: "127.0.0.1", port: port)
    var starts: [(loop: any EventLoop, session: TLSSession?)] = []
    for _ in 0..<clients {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let session = resume ? try await probe(on: loop, to: address, tls: tls, resuming: nil, exchange: exchange).get().session : nil
        starts.append((loop, session))
    }
    let clock = ContinuousClock()
    let cpuBefore = serverPID.map(cpuSeconds(of:))
    let clientCPUBefore = ownCPUSeconds()
    let start = clock.now
    let end = NIODeadline.now() + .milliseconds(Int64(seconds * 1_000))
    var connections = 0
    var resumed = 0
    for count in try await EventLoopFuture.whenAllSucceed(starts.map { start in
        connectionLoop(on: start.loop, to: address, tls: tls, exchange: exchange, first: start.session, resume: resume, until: end)
    }, on: MultiThreadedEventLoopGroup.singleton.any()).get() {
        connections += count.connections
        resumed += count.resumed
    }
    let elapsed = clock.now - start
    let wall = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let clientCPU = ownCPUSeconds() - clientCPUBefore
    let serverCPU: Double? = if let serverPID, let cpuBefore { cpuSeconds(of: serverPID) - cpuBefore } else { nil }
    let perConnection = { (cpu: Double) in connections > 0 ? cpu / Double(connections) : 0 }
    return HandshakeRate(
        connections: connections, resumed: resumed, seconds: wall,
        serverCPUPerConnection: serverCPU.map(perConnection), clientCPUPerConnection: perConnection(clientCPU))
}

/// Back-to-back probes on one event loop until `end`, chained by callbacks so the loop never waits on another thread.
private func connectionLoop(
    on loop: any EventLoop, to address: SocketAddress, tls: TLSContext, exchange: Exchange, first: TLSSession?,
    resume: Bool, until end: NIODeadline
) -> EventLoopFuture<(connections: Int, resumed: Int)> {
    let result = loop.makePromise(of: (connections: Int, resumed: Int).self)
    loop.execute {
        var connections = 0
        var resumed = 0
        var session = first
        func next() {
            guard NIODeadline.now() < end else { return result.succeed((connections, resumed)) }
            probe(on: loop, to: address, tls: tls, resuming: session, exchange: exchange).assumeIsolated().whenComplete {
                switch $0 {
                case .success(let outcome):
                    connections += 1
                    if outcome.resumed { resumed += 1 }
                    if resume { session = outcome.session ?? session }
                    next()
                case .failure(let error):
                    result.fail(error)
                }
            }
        }
        next()
    }
    return result.futureResult
}
