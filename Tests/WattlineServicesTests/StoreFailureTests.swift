import NIOCore
import NIOPosix
import Testing
import WattlineClient
import WattlineProtos
import WattlineServices
import WattlineStore
import WattlineWire

/// Store errors reach callers as precise statuses, from any handler, without their text.
@Suite("Store errors as call statuses")
struct StoreFailureTests {
    @Test("a lost database is UNAVAILABLE, a concurrent duplicate ALREADY_EXISTS, anything else INTERNAL without its text")
    func statuses() async throws {
        let cases: [(PGError, UInt32)] = [
            (PGError(.connectionLost, "server closed the connection: secret table t"), 14),
            (PGError(.poolExhausted, "1024 jobs waiting"), 14),
            (PGError(.uniqueViolation, "duplicate key value violates unique constraint \"sites_name\""), 6),
            (PGError(.sql, "relation \"wattline.customer_data\" does not exist"), 13),
        ]
        for (error, code) in cases {
            var router = Router()
            router.unary(HealthV1.HealthService.Check.self) { _, _ in throw error }
            let server = try await ServicesFixture.serve(router)
            let client = WattlineClient(host: "127.0.0.1", port: server.localAddress!.port!)
            var seen: RPCError?
            do {
                _ = try await client.unary(HealthV1.HealthService.Check.self, .init(), options: CallOptions(timeout: .seconds(10)))
            } catch let failure as RPCError {
                seen = failure
            }
            #expect(seen?.code == code, "\(error.code)")
            #expect(seen.map { !$0.message.contains("secret") && !$0.message.contains("customer_data") && !$0.message.contains("sites_name") } == true)
            await client.close()
            try await server.close()
        }
    }
}
