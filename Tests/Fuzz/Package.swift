// swift-tools-version:6.1
// libFuzzer targets, built only by Scripts/fuzz (with -sanitize=fuzzer,address), never by the
// main build: a fuzz target has no main() of its own.
import PackageDescription

let package = Package(
    name: "wattline-fuzz",
    dependencies: [
        .package(name: "wattline", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
    ],
    targets: [
        // The server's whole receive path for one connection: preface, frame decoder, state machine.
        .executableTarget(
            name: "FrameDecoderFuzz",
            dependencies: [
                .product(name: "WattlineWire", package: "wattline"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
