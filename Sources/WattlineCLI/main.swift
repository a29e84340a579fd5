// wattline: the administrator's and developer's command line.
//
//   wattline proto types                 lists every message type of the contracts
//   wattline proto decode TYPE < FILE    decodes one message from standard input and prints it
import WattlineProtos

#if canImport(Glibc)
import Glibc
#endif

func usage() -> Never {
    print("""
        usage: wattline proto types
               wattline proto decode <wattline.area.v1.Message> < message.bin
        """)
    exit(2)
}

func readStandardInput(limit: Int) -> [UInt8] {
    var bytes: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 65536)
    while bytes.count <= limit {
        let count = read(0, &chunk, chunk.count)
        if count <= 0 { break }
        bytes += chunk[0..<count]
    }
    return bytes
}

let arguments = Array(CommandLine.arguments.dropFirst())
switch arguments.first {
case "proto":
    switch arguments.dropFirst().first {
    case "types":
        for name in ProtoRegistry.messages.keys.sorted() { print(name) }
    case "decode":
        guard arguments.count == 3, let type = ProtoRegistry.messages[arguments[2]] else { usage() }
        let limits = ProtoLimits.default
        let input = readStandardInput(limit: limits.maxMessageSize)
        do {
            let message = try type.init(serializedBytes: input, limits: limits)
            print(message)
        } catch {
            print("wattline: \(error)")
            exit(1)
        }
    default:
        usage()
    }
default:
    usage()
}
