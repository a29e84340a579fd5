// swift-tools-version:6.1
// Benchmarks live in their own package so that their heavy, comparison-only dependencies
// (swift-protobuf, later grpc-swift-2) never slow the main build. Run them with Scripts/bench.
import PackageDescription

let package = Package(
    name: "wattline-benchmarks",
    dependencies: [
        .package(name: "wattline", path: ".."),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/ordo-one/malloc-interposer", exact: "1.6.1"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // Encode/decode of a 1,000-sample telemetry batch: Wattline (protobuf-c) vs swift-protobuf.
        .executableTarget(
            name: "CodecBenchmark",
            dependencies: [
                .product(name: "WattlineProtos", package: "wattline"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "MallocInterposerSwift", package: "malloc-interposer"),
            ]),
        // AES-256-GCM seal/open throughput on 8 KiB values against `openssl speed` in the same run.
        .executableTarget(name: "CryptoBenchmark", dependencies: [.product(name: "WattlineCrypto", package: "wattline")]),
        // libpq itself, for the raw baseline of the store benchmark.
        .systemLibrary(name: "CLibPQRaw", pkgConfig: "libpq"),
        // Binary COPY through the store vs `psql \copy`; a prepared query through the pool vs raw libpq.
        .executableTarget(
            name: "StoreBenchmark",
            dependencies: [.product(name: "WattlineStore", package: "wattline"), "CLibPQRaw"]),
        // Unary calls over TLS on loopback, Wattline server + Swift SDK (the gRPC baseline is to come).
        .executableTarget(
            name: "WireBenchmark",
            dependencies: [
                .product(name: "WattlineWire", package: "wattline"),
                .product(name: "WattlineClient", package: "wattline"),
                .product(name: "WattlineTLS", package: "wattline"),
                .product(name: "WattlineProtos", package: "wattline"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // Telemetry at rest: bytes per sample of sealed columnar blocks vs xz -9, encode/decode ns per sample.
        .executableTarget(
            name: "BlockBenchmark",
            dependencies: [
                .product(name: "WattlineTelemetry", package: "wattline"),
                .product(name: "WattlineCrypto", package: "wattline"),
            ]),
        // Connection-level figures over TLS on loopback, server in a child process: new and resumed handshakes/s
        // against openssl s_server/s_time, memory per idle connection, and a 10,000-connection fleet.
        .executableTarget(
            name: "AccessBenchmark",
            dependencies: [
                .product(name: "WattlineAccess", package: "wattline"),
                .product(name: "WattlineCrypto", package: "wattline"),
                .product(name: "WattlineWire", package: "wattline"),
            ]),
        // Sign-in latency end to end (argon2id with production parameters) and the equal timing of
        // wrong password and unknown address, against the assembled services on the dev PostgreSQL.
        .executableTarget(
            name: "LoginBenchmark",
            dependencies: [
                .product(name: "WattlineServices", package: "wattline"),
                .product(name: "WattlineIMS", package: "wattline"),
                .product(name: "WattlineClient", package: "wattline"),
                .product(name: "WattlineWire", package: "wattline"),
                .product(name: "WattlineStore", package: "wattline"),
                .product(name: "WattlineCrypto", package: "wattline"),
                .product(name: "WattlineProtos", package: "wattline"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
        // New and resumed TLS handshakes vs openssl s_server, idle memory, 10,000 connections.
        .executableTarget(
            name: "ConnectionBenchmark",
            dependencies: [
                .product(name: "WattlineWire", package: "wattline"),
                .product(name: "WattlineClient", package: "wattline"),
                .product(name: "WattlineTLS", package: "wattline"),
                .product(name: "WattlineProtos", package: "wattline"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]),
    ],
    swiftLanguageModes: [.v6]
)
