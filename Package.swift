// swift-tools-version: 6.1
import PackageDescription

// Linux only: the agent reads inotify, journald (libsystemd) and /proc, so no other platform is listed.
let package = Package(
    name: "estuary",
    products: [
        .executable(name: "estuary", targets: ["Agent"]),
        .library(name: "Wire", targets: ["Wire"]),
        .library(name: "Backend", targets: ["Backend"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-protobuf.git", from: "1.39.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-collections.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        // The websocket engine under hummingbird-websocket, used directly: that package's server channel answers a
        // refused upgrade with an empty 400, where Loki's tail says why (see WebSocketUpgradeChannel).
        .package(url: "https://github.com/hummingbird-project/swift-websocket.git", from: "1.6.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // OTLP over gRPC (otelcol.receiver.otlp's grpc block, otelcol.exporter.otlp).
        .package(url: "https://github.com/grpc/grpc-swift-2.git", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport.git", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", from: "2.4.1"),
    ],
    targets: [
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .target(name: "CCRC32C"),
        .target(
            name: "Wire",
            dependencies: [
                "CZlib", "CCRC32C",
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "Crypto", package: "swift-crypto"),
                // The generated OTLP LogsService stubs (method descriptors, client) beside the OTLP messages.
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        // Membership by gossip and the consistent-hash ring: the agent cluster (and the backend's rings).
        .target(
            name: "Cluster",
            dependencies: [
                "Wire",
                .product(name: "Logging", package: "swift-log"),
                // DNS lookups of the join addresses: UDP and TCP to the resolv.conf nameservers.
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        // Go behaviour the agent must match byte for byte: templates, time layouts, `fmt` verbs, `encoding/json`,
        // float formatting, `Regexp.Expand`, SHA-3.
        .target(name: "GoCompat", dependencies: ["Wire", .product(name: "Crypto", package: "swift-crypto")]),
        // The Alloy configuration language: lexer, parser, formatter, evaluator, values, standard library, and the
        // argument reader components decode themselves with.
        .target(
            name: "AlloyLanguage",
            dependencies: ["GoCompat", "Wire", .product(name: "Yams", package: "Yams")]
        ),
        .plugin(name: "BuildStampPlugin", capability: .buildTool()),
        .target(name: "BuildStamp", plugins: ["BuildStampPlugin"]),
        .target(
            name: "Pipeline",
            dependencies: [
                "AlloyLanguage", "Cluster", "GoCompat", "Wire",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Collections", package: "swift-collections"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        .target(
            name: "Backend",
            dependencies: [
                "BuildStamp", "GoCompat", "Wire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "DequeModule", package: "swift-collections"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "WSCore", package: "swift-websocket"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "Agent",
            dependencies: [
                "AlloyLanguage", "Pipeline", "Backend",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "Backend", "Wire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "PipelineTestSupport",
            dependencies: [
                "Pipeline", "AlloyLanguage", "Cluster", "Wire",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(name: "WireTests", dependencies: ["Wire", "TestSupport"], exclude: ["OTLP/testdata", "SigV4/testdata"]),
        .testTarget(
            name: "ClusterTests",
            dependencies: [
                "Cluster", "Wire", "TestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "GoCompatTests", dependencies: ["GoCompat", "TestSupport"]),
        .testTarget(name: "AlloyLanguageTests", dependencies: ["AlloyLanguage", "TestSupport"]),
        .testTarget(
            name: "PipelineTests",
            dependencies: [
                "AlloyLanguage", "Cluster", "GoCompat", "Pipeline", "PipelineTestSupport", "Wire", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ]
        ),
        .testTarget(
            name: "BackendTests",
            dependencies: ["Backend", "Wire", "TestSupport", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "IntegrationTests",
            dependencies: [
                "Wire", "TestSupport",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
    ]
)
