import Foundation
import NIOCore
import NIOPosix
import WattlineProtos
import WattlineTLS
import WattlineWire

/// `ConnectionBenchmark serve --certs DIR`: the Wattline server (TLSHandler + ServerConnectionHandler) in its own
/// process, so its RSS and CPU are its own. Prints "port N", then runs until its stdin reaches EOF.
func serve(certificates: String) throws -> Never {
    raiseOpenFileLimit()
    let tls = try TLSContext(configuration: TLSConfiguration(
        certificateChainPath: certificates + "/server.pem", privateKeyPath: certificates + "/server.key"), role: .server)
    var router = Router()
    router.unary(TelemetryV1.QueryService.ReadLatest.self) { request, _ in
        .with { $0.channelIDs = request.channelIDs }  // echo
    }
    let frozen = router
    let server = try ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.backlog, value: 4_096)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls))
                try channel.pipeline.syncOperations.addHandler(ServerConnectionHandler(router: frozen))
            }
        }
        .bind(host: "127.0.0.1", port: 0).wait()
    print("port \(server.localAddress!.port!)")
    fflush(nil)  // stdout is a file: the parent polls it for this line
    // The parent holds our stdin: EOF means it is done (or gone), so a crashed benchmark leaves no server behind.
    var byte: UInt8 = 0
    while read(0, &byte, 1) > 0 {}
    exit(0)
}

/// The parent's handle on a `serve` child.
struct WattlineServerChild {
    let process: ChildProcess
    let port: Int

    static func start(certificates: String) async throws -> WattlineServerChild {
        var executable = [CChar](repeating: 0, count: 4_096)
        let length = readlink("/proc/self/exe", &executable, executable.count - 1)
        guard length > 0 else { throw BenchmarkError("cannot find our own executable") }
        let path = String(decoding: executable.prefix(length).map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let process = try ChildProcess([path, "serve", "--certs", certificates])
        let line = try await process.waitForLine(containing: "port ")
        guard let port = Int(line.split(separator: " ").last ?? "") else { throw BenchmarkError("bad port line: \(line)") }
        return WattlineServerChild(process: process, port: port)
    }

    var residentBytes: Int { ConnectionBenchmark.residentBytes(of: process.pid) }
    var cpuSeconds: Double { ConnectionBenchmark.cpuSeconds(of: process.pid) }
}
