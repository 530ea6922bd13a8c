// swift-tools-version: 6.1
// Benchmarks for Privet, in their own package so that building the product never builds the
// benchmark harness (docs/ARCHITECTURE.md, "Modules"). Run with scripts/bench.sh.
import PackageDescription

let package = Package(
    name: "PrivetBenchmarks",
    dependencies: [
        .package(name: "privet", path: ".."),
        // The MallocInterposer trait alone: the default traits need a package that is not mirrored here.
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "WireBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PacketWire", package: "privet"),
            ],
            path: "Benchmarks/WireBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "DataplaneBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PacketWire", package: "privet"),
                .product(name: "Dataplane", package: "privet"),
                .product(name: "Topology", package: "privet"),
                .product(name: "DataplaneFixtures", package: "privet"),
            ],
            path: "Benchmarks/DataplaneBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
