import WattlineProtos
import WattlineStore
import WattlineWire

/// `wattline.health.v1.HealthService.Check`: the server is serving when its database answers.
enum HealthService {
    static let services: Set<String> = Set(ProtoRegistry.methods.map { String($0.path.split(separator: "/")[0]) })

    static func register(in router: inout Router, store: Store) {
        router.unary(HealthV1.HealthService.Check.self) { request, _ in
            guard request.service.isEmpty || services.contains(request.service) else {
                throw CallFailure(code: 5, "this server does not host \(request.service)")
            }
            let databaseUp = (try? await store.pool.run { try $0.query("SELECT 1")[0].int64(0) }) == 1
            return .with { $0.status = databaseUp ? .serving : .notServing }
        }
    }
}
