// swift-tools-version: 6.1
import PackageDescription

/// Load generator and benchmarks for Estuary. A separate package so that it never slows the main build; it reuses
/// the main package's `Wire` encoders by path.
let package = Package(
    name: "estuary-load-test",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "loadgen", targets: ["loadgen"]),
    ],
    dependencies: [
        .package(name: "estuary", path: ".."),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift.git", from: "0.2.0"),
    ],
    targets: [
        .executableTarget(
            name: "loadgen",
            dependencies: [
                .product(name: "Wire", package: "estuary"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
            ]
        ),
        .testTarget(name: "loadgenTests", dependencies: ["loadgen", .product(name: "Wire", package: "estuary")]),
    ]
)
