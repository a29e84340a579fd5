// libFuzzer entry point: feeds arbitrary bytes, in arbitrary chunks, through the frame decoder
// and the server connection state machine. Any crash, trap or sanitizer report is a bug; errors
// thrown as WireError are the expected way to reject input.
import NIOCore
import WattlineWire

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let first = bytes.first else { return 0 }
    // The first byte picks the chunk size, so partial frames are exercised too.
    let chunk = Int(first % 32) + 1
    var decoder = FrameDecoder()
    var machine = ServerConnectionStateMachine()
    var buffer = ByteBuffer()
    var offset = 1
    while offset < bytes.count {
        let end = min(offset + chunk, bytes.count)
        buffer.writeBytes(UnsafeBufferPointer(rebasing: bytes[offset..<end]))
        offset = end
        do {
            while let frame = try decoder.next(from: &buffer) {
                let actions = try machine.receive(frame)
                for case .deliver(let stream, _, let cost) in actions {
                    _ = machine.consumed(cost, streamID: stream)
                }
            }
        } catch {
            return 0
        }
    }
    return 0
}

// SwiftPM links executables with `main` renamed to `<Module>_main`; hand that entry point to
// libFuzzer's driver so the same binary runs the fuzzer.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt
) -> CInt

@_cdecl("FrameDecoderFuzz_main")
func fuzzMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> CInt {
    var argc = argc
    var argv = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzz(data, size) }
}
