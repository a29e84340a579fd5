// wattline-server: the Wattline back-end process.
//
// This stage of the project has the contracts and their codecs but no transport yet (the wire
// protocol issue adds TLS, framing and the services). The server therefore checks that the
// generated contracts load and round-trip, reports what it would serve, and waits for a signal,
// so that `Scripts/run` already exercises the whole build and start-up path.
import WattlineProtos

#if canImport(Glibc)
import Glibc
#endif

let services = Set(ProtoRegistry.methods.map { method in
    String(method.path.split(separator: "/").first ?? "")
})
let probe = RpcV1.CallHeader.with { $0.method = "/wattline.health.v1.HealthService/Check" }
guard (try? RpcV1.CallHeader(serializedBytes: probe.serializedBytes())) == probe else {
    print("wattline-server: the generated contracts do not round-trip; the build is broken")
    exit(1)
}
print("wattline-server: \(ProtoRegistry.messages.count) message types, \(ProtoRegistry.methods.count) RPCs in \(services.count) services loaded")
print("wattline-server: no transport yet (see docs/architecture.md); waiting for SIGINT or SIGTERM")

signal(SIGINT, SIG_IGN)
signal(SIGTERM, SIG_IGN)
var signals = sigset_t()
sigemptyset(&signals)
sigaddset(&signals, SIGINT)
sigaddset(&signals, SIGTERM)
pthread_sigmask(SIG_BLOCK, &signals, nil)
var received: Int32 = 0
sigwait(&signals, &received)
print("wattline-server: signal \(received), stopping")
