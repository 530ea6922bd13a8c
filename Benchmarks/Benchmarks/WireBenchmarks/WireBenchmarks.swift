// The wire layer's per-packet costs: parsing, full checksums, incremental rewrites.
// Each benchmark runs a million operations per iteration (scalingFactor .mega), so the reported
// time is per operation; mallocs must stay 0 (docs/ARCHITECTURE.md, "The hot path").

import Benchmark
import PacketWire

/// A packet in a buffer that stays put for the whole benchmark.
final class PacketBuffer {
    let storage: UnsafeMutableRawBufferPointer
    let count: Int

    init(_ bytes: [UInt8], capacity: Int = 2048) {
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: capacity, alignment: 64)
        storage.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.withUnsafeBytes { storage.copyMemory(from: $0) }
        self.storage = storage
        count = bytes.count
    }

    var packet: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[..<count]) }

    deinit { storage.deallocate() }
}

let client = IPv4Address(10, 0, 1, 10)
let server = IPv4Address(10, 0, 2, 20)

func tcpSegment() -> TransportFields {
    var tcp = TCPFields(sourcePort: 40000, destinationPort: 80, flags: [.psh, .ack])
    tcp.sequenceNumber = 1000
    tcp.acknowledgmentNumber = 2000
    return .tcp(tcp)
}

/// One checksum function over the same 1500 bytes.
func checksumBenchmark(_ name: String, _ sum: @escaping @Sendable (UnsafeRawBufferPointer) -> UInt32) {
    Benchmark(name) { benchmark in
        let buffer = PacketBuffer((0..<1500).map { UInt8(truncatingIfNeeded: $0 &* 7) })
        let bytes = UnsafeRawBufferPointer(buffer.packet)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            blackHole(sum(bytes))
        }
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        scalingFactor: .mega,
        maxDuration: .seconds(2),
        maxIterations: 20,
        thresholds: [
            .mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0]),
            .wallClock: .init(relative: [.p50: 50.0]),
        ]
    )

    Benchmark("Parse IPv4+TCP (64 bytes)") { benchmark in
        let buffer = PacketBuffer(PacketBuilder.ipv4Packet(
            IPv4Fields(source: client, destination: server), tcpSegment(), payload: [UInt8](repeating: 0, count: 24)))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let packet = try? PacketDissection(linkType: .rawIP, bytes: buffer.packet)
            if case .tcp(let tcp)? = packet?.transport { blackHole(tcp.destinationPort) }
        }
    }

    Benchmark("Parse IPv6+2 extension headers+UDP") { benchmark in
        var ip = IPv6Fields(source: IPv6Address("fd00:1::10")!, destination: IPv6Address("fd00:2::20")!)
        ip.extensionHeaders = [.hopByHop(length: 8), .destinationOptions(length: 16)]
        let buffer = PacketBuffer(PacketBuilder.ipv6Packet(
            ip, .udp(UDPFields(sourcePort: 40002, destinationPort: 9000)), payload: [UInt8](repeating: 0, count: 16)))
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            let packet = try? PacketDissection(linkType: .rawIP, bytes: buffer.packet)
            if case .udp(let udp)? = packet?.transport { blackHole(udp.destinationPort) }
        }
    }

    checksumBenchmark("Full checksum over 1500 bytes", InternetChecksum.sum)
    // The peer for the checksum: the plain RFC 1071 loop over big-endian 16-bit words.
    checksumBenchmark("Full checksum over 1500 bytes, plain RFC 1071 loop (peer)", InternetChecksum.referenceSum)

    Benchmark("Incremental rewrite of an IPv4 address (IP+TCP checksums)") { benchmark in
        let buffer = PacketBuffer(PacketBuilder.ipv4Packet(
            IPv4Fields(source: client, destination: server), tcpSegment(), payload: [UInt8](repeating: 0, count: 24)))
        let ip = try! IPv4Packet(buffer.packet)
        var address = IPv4Address(10, 0, 3, 1)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            address.value &+= 1
            ip.setDestination(address)
        }
        blackHole(ip.headerChecksum)
    }
}
