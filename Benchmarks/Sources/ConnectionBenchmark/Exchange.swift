import NIOCore
import WattlineProtos

/// The one request/reply a handshake probe makes once TLS is up, so that every counted connection has been
/// served by the application above TLS (and has read the TLS 1.3 session tickets, which precede the reply).
struct Exchange: Sendable {
    enum Progress { case incomplete, complete, unexpected(String) }

    let request: [UInt8]
    let progress: @Sendable (ByteBuffer) -> Progress

    /// Wattline: the preface and a client HELLO (docs/protocol.md §1); done at the server's HELLO frame.
    /// Encoded here from the spec rather than with the SDK's internals, which are being rewritten.
    static let wattlineHello: Exchange = {
        let hello = RpcV1.Hello.with {
            $0.versions = [1]
            $0.agent = "connection-benchmark"
        }.serializedBytes()
        let length = UInt32(hello.count)
        let header: [UInt8] = [UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff),
                               0x00 /* HELLO */, 0x00 /* flags */, 0, 0, 0, 0 /* stream 0 */]
        return Exchange(request: Array("WATTLINE".utf8) + header + hello) { reply in
            guard reply.readableBytes >= 9, let bytes = reply.getBytes(at: reply.readerIndex, length: 9) else {
                return .incomplete
            }
            guard bytes[3] == 0x00 else { return .unexpected("frame type \(bytes[3]) instead of HELLO") }
            let payload = Int(bytes[0]) << 16 | Int(bytes[1]) << 8 | Int(bytes[2])
            return reply.readableBytes >= 9 + payload ? .complete : .incomplete
        }
    }()

    /// `openssl s_server -rev` sends each line back reversed: the same shape of exchange, a similar size.
    static let reversedLine: Exchange = {
        let line = "WATTLINE hello from connection-benchmark\n"
        return Exchange(request: Array(line.utf8)) { reply in
            guard reply.readableBytesView.last == UInt8(ascii: "\n") else { return .incomplete }
            let expected = Array(line.utf8.dropLast().reversed())
            return reply.readableBytesView.dropLast().elementsEqual(expected) ? .complete : .unexpected("not the line reversed")
        }
    }()
}
