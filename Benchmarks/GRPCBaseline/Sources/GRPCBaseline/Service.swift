// The benchmark service, hand-written against GRPCCore's router: no protobuf, no codegen, so the
// figures measure gRPC's framing, HTTP/2 and TLS rather than a message codec.
import GRPCCore

/// Messages are the raw payload bytes: one copy in, one copy out, nothing else.
struct RawBytes: MessageSerializer, MessageDeserializer {
    func serialize<Bytes: GRPCContiguousBytes>(_ message: [UInt8]) throws -> Bytes {
        Bytes(message)
    }

    func deserialize<Bytes: GRPCContiguousBytes>(_ serializedMessageBytes: Bytes) throws -> [UInt8] {
        serializedMessageBytes.withUnsafeBytes { Array($0) }
    }
}

enum Methods {
    static let echo = MethodDescriptor(fullyQualifiedService: "wattline.bench.Baseline", method: "Echo")
    static let count = MethodDescriptor(fullyQualifiedService: "wattline.bench.Baseline", method: "Count")
}

struct BaselineService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        // Unary: returns the request's bytes.
        router.registerHandler(forMethod: Methods.echo, deserializer: RawBytes(), serializer: RawBytes()) {
            request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: single.message))
        }
        // Client streaming: counts the messages, answers with the count as 8 bytes little-endian.
        router.registerHandler(forMethod: Methods.count, deserializer: RawBytes(), serializer: RawBytes()) {
            request, _ in
            var count: UInt64 = 0
            for try await _ in request.messages { count += 1 }
            return StreamingServerResponse(single: ServerResponse(message: littleEndianBytes(count)))
        }
    }
}

func littleEndianBytes(_ value: UInt64) -> [UInt8] {
    (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
}

func decodeLittleEndian(_ bytes: [UInt8]) -> UInt64 {
    bytes.prefix(8).enumerated().reduce(0) { $0 | UInt64($1.element) << (8 * $1.offset) }
}

extension GRPCClient {
    func echo(_ payload: [UInt8]) async throws -> [UInt8] {
        try await unary(
            request: ClientRequest(message: payload), descriptor: Methods.echo,
            serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
        ) { try $0.message }
    }

    /// Streams what `produce` writes, returns the server's message count.
    func count(_ produce: @escaping @Sendable (RPCWriter<[UInt8]>) async throws -> Void) async throws -> UInt64 {
        try await clientStreaming(
            request: StreamingClientRequest(producer: produce), descriptor: Methods.count,
            serializer: RawBytes(), deserializer: RawBytes(), options: .defaults
        ) { decodeLittleEndian(try $0.message) }
    }
}
