import WattlineProtos

/// The transport's diagnostic service (`wattline.echo.v1.EchoService`): one method per call kind,
/// for conformance tests, benchmarks and client bring-up. No data, no database.
public enum EchoService {
    public static let maxExpandCount: UInt32 = 1_000_000
    public static let maxExpandSize: UInt32 = 1 << 20

    public static func register(in router: inout Router) {
        router.unary(EchoV1.EchoService.Echo.self) { request, _ in
            .with { $0.payload = request.payload }
        }
        router.serverStreaming(EchoV1.EchoService.Expand.self) { request, responses, _ in
            guard request.count <= maxExpandCount, request.size <= maxExpandSize else {
                throw CallFailure.invalidArgument("count ≤ \(maxExpandCount) and size ≤ \(maxExpandSize) bytes")
            }
            let payload = [UInt8](repeating: 0x57, count: Int(request.size))
            for index in 0..<request.count {
                if request.intervalMs > 0, index > 0 { try await Task.sleep(for: .milliseconds(request.intervalMs)) }
                try await responses.write(.with {
                    $0.index = index
                    $0.payload = payload
                })
            }
        }
        router.clientStreaming(EchoV1.EchoService.Collect.self) { requests, _ in
            var messages: UInt64 = 0
            var bytes: UInt64 = 0
            for try await request in requests {
                messages += 1
                bytes += UInt64(request.payload.count)
            }
            return .with {
                $0.messages = messages
                $0.bytes = bytes
            }
        }
        router.bidirectional(EchoV1.EchoService.Chat.self) { requests, responses, _ in
            for try await request in requests {
                try await responses.write(.with { $0.payload = request.payload })
            }
        }
    }
}
