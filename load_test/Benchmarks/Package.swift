// swift-tools-version: 6.1
import PackageDescription

/// Micro-benchmarks of Estuary's hot paths (ordo-one/benchmark), run by hand with `swift package benchmark`. A
/// package of its own, beside the load generator's, so that neither the tests nor CI build the benchmark tool; it
/// uses the main package's `Wire` and `Backend` by path.
let package = Package(
    name: "estuary-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "estuary", path: "../.."),
        // Only the malloc interposer (allocation counts): the default `RuntimeInterposer` trait would pull in
        // swift-runtime-interposer for ARC counts on Swift 6.3, which the benchmarks do not report.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "HotPaths",
            dependencies: [
                .product(name: "Wire", package: "estuary"),
                .product(name: "Backend", package: "estuary"),
                .product(name: "Benchmark", package: "benchmark"),
            ],
            path: "Benchmarks/HotPaths",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
