import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.health.v1.HealthService`: the server is serving when its database answers.
public enum HealthService {
    static let services: Set<String> = Set(ProtoRegistry.methods.map { String($0.path.split(separator: "/")[0]) })
    /// How often Watch re-checks; a change is sent at most this late.
    static let watchInterval = Duration.seconds(2)

    public static func register(in router: inout Router, store: Store) {
        router.unary(HealthV1.HealthService.Check.self) { request, _ in
            guard request.service.isEmpty || services.contains(request.service) else {
                throw CallFailure(code: 5, "this server does not host \(request.service)")
            }
            let current = await status(store)
            return .with { $0.status = current }
        }
        router.serverStreaming(HealthV1.HealthService.Watch.self) { request, responses, _ in
            guard request.service.isEmpty || services.contains(request.service) else {
                try await responses.write(.with { $0.status = .serviceUnknown })
                try await Task.sleep(for: .seconds(Int64.max / 2))  // until the caller cancels
                return
            }
            var last: HealthV1.ServingStatus?
            while true {  // ends when the caller cancels: the write or the sleep throws
                let current = await status(store)
                if current != last {
                    try await responses.write(.with { $0.status = current })
                    last = current
                }
                try await Task.sleep(for: watchInterval)
            }
        }
    }

    private static func status(_ store: Store) async -> HealthV1.ServingStatus {
        let databaseUp = (try? await store.pool.run { try $0.query("SELECT 1")[0].int64(0) }) == 1
        return databaseUp ? .serving : .notServing
    }
}
