// swift-tools-version:6.1
// The grpc-swift-2 baseline for the wire-protocol benchmark. A package of its own, independent of
// Wattline, so gRPC's large dependency tree never reaches the main build or the other benchmarks.
import PackageDescription

let package = Package(
    name: "grpc-baseline",
    products: [.executable(name: "grpc-baseline", targets: ["GRPCBaseline"])],
    dependencies: [
        // Exact pins: the figures are only comparable run to run with the same stack.
        .package(url: "https://github.com/grpc/grpc-swift-2", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", exact: "2.9.2"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
    ],
    targets: [
        .executableTarget(
            name: "GRPCBaseline",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                // Not imported: listed so that the exact pins above apply to the transport's NIO and TLS.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
