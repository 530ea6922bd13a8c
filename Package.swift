// swift-tools-version: 6.1
// Privet: a userspace dataplane that plays AWS PrivateLink on Linux network namespaces.
// Module graph and its rules: docs/ARCHITECTURE.md ("Modules"). Arrows only point down:
//   privet → Forwarder → ReferenceAppliance, AWSAPI → Topology, PacketIO → Dataplane → PacketWire
//   (privet → BuiltInServers → PacketIO; Topology → Dataplane; PacketIO → CPcap, CLinux; Dataplane → CPrefetch)
import PackageDescription

/// Settings of the per-packet modules: no run-time exclusivity checks (see Dataplane below).
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
/// The modules a replay runs per packet besides those (captures read and written, text files
/// formatted): without the checks in release builds only, so that the tests, built for debugging,
/// still check them. Measured on `privet replay` of 1M packets: 890 → 650 ms.
let perPacketIO: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "privet",
    products: [
        .executable(name: "privet", targets: ["privet"]),
        .library(name: "PacketWire", targets: ["PacketWire"]),
        .library(name: "PacketIO", targets: ["PacketIO"]),
        .library(name: "Topology", targets: ["Topology"]),
        .library(name: "Dataplane", targets: ["Dataplane"]),
        .library(name: "Forwarder", targets: ["Forwarder"]),
        .library(name: "DataplaneFixtures", targets: ["DataplaneFixtures"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // libpcap from Debian's libpcap-dev; the module map links -lpcap even without pkg-config.
        .systemLibrary(
            name: "CPcap",
            pkgConfig: "libpcap",
            providers: [.apt(["libpcap-dev"])]
        ),
        // The Linux calls Swift cannot make itself: TUN ioctls, setns.
        .target(name: "CLinux"),
        // Cache prefetch hints for the dataplane's look-ahead (Swift has none of its own).
        .target(name: "CPrefetch"),
        // Typed zero-copy views over packet bytes. No Foundation, nothing allocated per packet.
        .target(name: "PacketWire", swiftSettings: hotPath),
        // Ports and files: capture files (libpcap), TUN devices with their offloads, network
        // namespaces, and the checked system calls under them.
        .target(name: "PacketIO", dependencies: ["CPcap", "CLinux", "PacketWire"], swiftSettings: perPacketIO),
        // The hot path: flow table, NAT, NLB target choice, LPM routing, filters. No I/O, no clock,
        // no Foundation.
        // Exclusivity is checked at compile time; the run-time checks on class properties cost a
        // third of the per-packet time (measured with perf), so the hot modules go without them.
        .target(name: "Dataplane", dependencies: ["PacketWire", "CPrefetch"], swiftSettings: hotPath),
        // The AWS-shaped model: the YAML file, validation, IDs, names, addresses, describe; it
        // compiles into the dataplane's tables.
        .target(name: "Topology", dependencies: ["PacketWire", "Dataplane", .product(name: "Yams", package: "Yams")]),
        // The reference GWLB appliance (`privet appliance`): GENEVE in, judged, back to the GWLB.
        .target(name: "ReferenceAppliance", dependencies: ["PacketWire", "PacketIO", "Topology"]),
        // The servers a topology's hosts run (`privet serve`): HTTP, TCP and UDP echo.
        .target(name: "BuiltInServers", dependencies: ["PacketIO"]),
        // The EC2 and ELBv2 API subset in the AWS Query protocol (`up --api`), over the model.
        .target(name: "AWSAPI", dependencies: ["Topology"]),
        // Runs a topology: replay of a capture, simulated hosts, live on namespaces.
        .target(name: "Forwarder", dependencies: ["Topology", "Dataplane", "PacketIO", "PacketWire", "ReferenceAppliance", "AWSAPI"],
                swiftSettings: perPacketIO),
        .executableTarget(
            name: "privet",
            dependencies: [
                "PacketWire", "PacketIO", "Dataplane", "Topology", "Forwarder", "ReferenceAppliance", "BuiltInServers",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Helpers the test targets share (seeded randomness); not part of the product.
        .target(name: "TestSupport", dependencies: ["PacketWire"], path: "Tests/TestSupport"),
        // The dataplane's fixture table and the helpers that build its packets: run by the
        // dataplane tests, replayed by the replay tests, and a product so that the benchmarks
        // (a package of their own) build their packets with the same helpers.
        .target(name: "DataplaneFixtures", dependencies: ["Dataplane", "Topology", "PacketWire"], path: "Tests/Fixtures"),
        .testTarget(name: "PacketWireTests", dependencies: ["PacketWire", "TestSupport"]),
        .testTarget(name: "PacketIOTests", dependencies: ["PacketIO", "PacketWire", "TestSupport", "AllocationCounter"]),
        // Golden/ is read by path (#filePath), not bundled.
        .testTarget(name: "TopologyTests", dependencies: ["Topology", "PacketWire", "TestSupport"], exclude: ["Golden", "Templates", "Snapshots"]),
        // Counts the calling thread's heap allocations, for the zero-allocation test of the hot path.
        .target(name: "AllocationCounter", path: "Tests/AllocationCounter"),
        .testTarget(name: "DataplaneTests", dependencies: ["Dataplane", "Topology", "PacketWire", "TestSupport", "AllocationCounter",
                                                          "DataplaneFixtures"]),
        // The privet executable as a user runs it.
        .testTarget(name: "PrivetCommandTests", dependencies: ["PacketIO", "PacketWire", "Topology", "TestSupport"]),
        .testTarget(name: "ForwarderTests", dependencies: ["Forwarder", "AWSAPI", "Topology", "Dataplane", "PacketIO", "PacketWire", "TestSupport",
                                                           "DataplaneFixtures"]),
        .testTarget(name: "ReferenceApplianceTests", dependencies: ["ReferenceAppliance", "PacketWire", "Topology", "TestSupport"]),
    ]
)
