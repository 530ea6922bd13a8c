// swift-tools-version: 6.1
// libFuzzer targets for everything Privet reads from outside: packets (the wire layer), topology
// files, CloudFormation templates, captures and DNS queries. Their own package, so that building the product never builds
// them; scripts/fuzz.sh builds one with -sanitize=fuzzer,address and runs it on its seeds.
import PackageDescription

let package = Package(
    name: "PrivetFuzz",
    dependencies: [.package(name: "privet", path: "..")],
    targets: [
        .target(name: "FuzzDriver", path: "Driver"),
        .executableTarget(name: "WireFuzz", dependencies: ["FuzzDriver", .product(name: "PacketWire", package: "privet")], path: "WireFuzz"),
        .executableTarget(
            name: "TopologyFuzz",
            dependencies: ["FuzzDriver", .product(name: "Topology", package: "privet"), .product(name: "Dataplane", package: "privet")],
            path: "TopologyFuzz"),
        .executableTarget(
            name: "TemplateFuzz", dependencies: ["FuzzDriver", .product(name: "Topology", package: "privet")], path: "TemplateFuzz"),
        .executableTarget(
            name: "CaptureFuzz",
            dependencies: ["FuzzDriver", .product(name: "PacketIO", package: "privet"), .product(name: "PacketWire", package: "privet")],
            path: "CaptureFuzz"),
        .executableTarget(
            name: "DNSFuzz",
            dependencies: ["FuzzDriver", .product(name: "Forwarder", package: "privet"), .product(name: "Topology", package: "privet"),
                           .product(name: "PacketWire", package: "privet")],
            path: "DNSFuzz"),
    ]
)
