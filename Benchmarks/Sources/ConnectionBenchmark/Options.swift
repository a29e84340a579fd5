/// Command line: `ConnectionBenchmark --certs DIR [--seconds S] [--idle N] [--fleet N] [--clients N]`,
/// or `ConnectionBenchmark serve --certs DIR` for the server child it starts itself.
struct Options {
    static let usage = "usage: ConnectionBenchmark [serve] --certs DIR [--seconds S] [--idle N] [--fleet N] [--clients N]"

    var serve = false
    var certificates = ".wattline/tls"
    /// Length of each handshake-rate run.
    var seconds = 3.0
    /// Connections for the memory-per-idle-connection figure.
    var idle = 1_000
    /// Connections held at once by one server process.
    var fleet = 10_000
    /// Concurrent connect loops of the handshake runs: enough to keep the server busy on 2 cores.
    var clients = 8

    init(_ arguments: [String]) {
        var rest = arguments[...]
        if rest.first == "serve" {
            serve = true
            rest = rest.dropFirst()
        }
        func number(_ text: String?) -> Double {
            guard let text, let value = Double(text), value > 0 else { fatalError(Self.usage) }
            return value
        }
        while let argument = rest.popFirst() {
            switch argument {
            case "--certs": certificates = rest.popFirst() ?? certificates
            case "--seconds": seconds = number(rest.popFirst())
            case "--idle": idle = Int(number(rest.popFirst()))
            case "--fleet": fleet = Int(number(rest.popFirst()))
            case "--clients": clients = Int(number(rest.popFirst()))
            default: fatalError(Self.usage)
            }
        }
    }
}
