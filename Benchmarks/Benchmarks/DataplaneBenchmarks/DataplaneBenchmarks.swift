// The dataplane's hot path on the default topology: consumer → interface endpoint → NLB →
// target. Each scaled iteration is one batch of 256 packets, refilled from templates (a 64-byte
// copy per packet, included in the time); divide the time by 256 for a packet.

import Benchmark
import Dataplane
import PacketWire
import Topology

/// The default topology's dataplane with `sessions` connections open through the endpoint
/// (half from client-a in zone a, half from client-b in zone b: each NLB node's pool towards its
/// target holds 55,000 ports), and one batch of established packets, both directions, to send
/// again and again.
final class Setup {
    let dataplane: Dataplane
    let batch = PacketBatch()
    let buffer: UnsafeMutableRawPointer
    let slot = 128
    var templates: [(bytes: [UInt8], port: Int)] = []
    var clock: Int64 = 1_000_000_000
    let clients: [(address: IPv4Address, port: Int, endpoint: IPv4Address)]

    init(sessions: Int, flowCapacity: Int) {
        let topology = defaultTopology
        let tables = defaultTables
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = flowCapacity
        configuration.prefaultFlowTable = true
        dataplane = Dataplane(tables: tables, configuration: configuration)
        buffer = .allocate(byteCount: 128 * 256, alignment: 64)
        func host(_ name: String) -> NetworkInterface {
            guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == name })!.placement else { fatalError() }
            return topology[eni]
        }
        func inZone<T>(_ items: [T], _ zone: Int, _ eni: (T) -> NetworkInterface) -> NetworkInterface {
            items.map(eni).first { topology[$0.subnet].zone.index == zone }!
        }
        clients = [("client-a", 0), ("client-b", 1)].map { name, zone in
            (host(name).ipv4!, tables.ports.firstIndex { $0.name == name }!,
             inZone(topology.endpoints[0].interfaces, zone) { topology[$0] }.ipv4!)
        }
        // Each zone's target and NLB node.
        let targets = ["web-a", "web-b"].map { (host($0).ipv4!, tables.ports.firstIndex(where: { [name = $0] in $0.name == name })!) }
        let nodes = [0, 1].map { zone in inZone(topology.loadBalancers[0].nodes, zone) { topology[$0.interface] }.ipv4! }
        // Open the sessions in batches: SYNs, the targets' SYN-ACKs, the clients' ACKs (so that
        // they are established, not half-open); remember the NAT ports of the first 128 of
        // client-a.
        var natPorts: [UInt16] = []
        var opened = 0
        while opened < sessions {
            let count = min(256, sessions - opened)
            var ports: [UInt16] = []
            send(count) { index in
                let connection = opened + index
                let client = clients[connection % 2]
                return (Setup.tcp(client.address, UInt16(1024 + connection / 2), client.endpoint, 80, .syn), client.port)
            }
            for index in 0..<count { ports.append(batch.verdicts[index].isDrop ? 0 : UInt16(batch.bytes(index)[20]) << 8 | UInt16(batch.bytes(index)[21])) }
            send(count) { index in
                let zone = (opened + index) % 2
                return (Setup.tcp(targets[zone].0, 80, nodes[zone], ports[index], [.syn, .ack], ack: 1), targets[zone].1)
            }
            send(count) { index in
                let connection = opened + index
                let client = clients[connection % 2]
                return (Setup.tcp(client.address, UInt16(1024 + connection / 2), client.endpoint, 80, .ack, seq: 1, ack: 1), client.port)
            }
            for index in stride(from: 0, to: count, by: 2) where natPorts.count < 128 && ports[index] != 0 { natPorts.append(ports[index]) }
            opened += count
        }
        guard natPorts.count == 128 else { return }
        let (target, targetPort) = targets[0]
        let node = nodes[0]
        for index in 0..<256 {
            let connection = index % 128
            if index % 2 == 0 {
                templates.append((Setup.tcp(clients[0].address, UInt16(1024 + connection), clients[0].endpoint, 80, .ack,
                                            seq: 1, ack: 1, payload: 24), clients[0].port))
            } else {
                templates.append((Setup.tcp(target, 80, node, natPorts[connection], .ack, seq: 1, ack: 1, payload: 24), targetPort))
            }
        }
    }

    deinit { buffer.deallocate() }

    /// Sends `count` packets that `packet` makes, as one batch.
    private func send(_ count: Int, _ packet: (Int) -> ([UInt8], Int)) {
        batch.removeAll()
        for index in 0..<count {
            let (bytes, port) = packet(index)
            let start = buffer + index * slot
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            batch.append(start, length: bytes.count, capacity: slot, ingressPort: port)
        }
        dataplane.process(batch, now: clock)
    }

    static func tcp(_ source: IPv4Address, _ sport: UInt16, _ destination: IPv4Address, _ dport: UInt16, _ flags: TCPFlags,
                    seq: UInt32 = 0, ack: UInt32 = 0, payload: Int = 0) -> [UInt8] {
        var fields = TCPFields(sourcePort: sport, destinationPort: dport, flags: flags)
        fields.sequenceNumber = seq
        fields.acknowledgmentNumber = ack
        return PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination), .tcp(fields),
                                        payload: [UInt8](repeating: 0, count: payload))
    }

    /// Refills the batch from the templates (every one, or only the replies from the target:
    /// the odd ones) and processes it.
    @inline(__always)
    func runEstablished(repliesOnly: Bool = false) {
        batch.removeAll()
        for index in 0..<256 {
            let template = repliesOnly ? index | 1 : index
            let start = buffer + index * slot
            templates[template].bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            batch.append(start, length: templates[template].bytes.count, capacity: slot, ingressPort: templates[template].port)
        }
        clock += 1_000_000
        dataplane.process(batch, now: clock)
    }
}

/// The default topology's dataplane with `sessions` flows from client-a to the internet through
/// the GWLB endpoint (each one tunnelled to appliance-a), and four kinds of packet to send again
/// and again: client -> appliance (encapsulated), appliance -> internet gateway (decapsulated),
/// internet -> appliance, appliance -> client.
final class TunnelSetup {
    let dataplane: Dataplane
    let batch = PacketBatch()
    let buffer: UnsafeMutableRawPointer
    let slot = 256, headroom = 96
    /// Into the tunnel (even) and out of it (odd), one pair per flow of the first 128.
    var templates: [(bytes: [UInt8], port: Int)] = []
    var clock: Int64 = 1_000_000_000

    init(sessions: Int) {
        let topology = defaultTopology
        let tables = defaultTables
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = 1 << 16
        configuration.prefaultFlowTable = true
        dataplane = Dataplane(tables: tables, configuration: configuration)
        buffer = .allocate(byteCount: slot * 256, alignment: 64)
        guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == "client-a" })!.placement else { fatalError() }
        let client = topology[eni].ipv4!, internet = IPv4Address(198, 51, 100, 10)
        let clientPort = tables.ports.firstIndex { $0.name == "client-a" }!
        let gateway = tables.ports.firstIndex { $0.name == "igw-consumer" }!
        let appliance = tables.ports.firstIndex { $0.name == "appliance-a" }!
        var opened = 0
        while opened < sessions {
            let count = min(256, sessions - opened)
            // The handshake's last two segments first (into the tunnel), so that the flows are
            // established, not half-open; then the SYNs kept for their tunnelled bytes.
            send(count) { (Setup.tcp(client, UInt16(1024 + opened + $0), internet, 80, .syn), clientPort) }
            send(count) { (Setup.tcp(internet, 80, client, UInt16(1024 + opened + $0), [.syn, .ack], ack: 1), gateway) }
            send(count) { (Setup.tcp(client, UInt16(1024 + opened + $0), internet, 80, .ack, seq: 1, ack: 1), clientPort) }
            send(count) { (Setup.tcp(client, UInt16(1024 + opened + $0), internet, 80, .syn), clientPort) }
            for index in 0..<count where opened + index < 64 {
                // The appliance returns what it was sent, outer addresses swapped.
                var returned = Array(batch.bytes(index))
                for offset in 12..<16 { returned.swapAt(offset, offset + 4) }
                let port = UInt16(1024 + opened + index)
                templates.append((Setup.tcp(client, port, internet, 80, .ack, seq: 1, ack: 1, payload: 24), clientPort))
                templates.append((returned, appliance))
                templates.append((Setup.tcp(internet, 80, client, port, .ack, seq: 1, ack: 1, payload: 24), gateway))
                templates.append((returned, appliance))
            }
            opened += count
        }
    }

    deinit { buffer.deallocate() }

    /// Sends `count` packets that `packet` makes, as one batch.
    private func send(_ count: Int, _ packet: (Int) -> ([UInt8], Int)) {
        batch.removeAll()
        for index in 0..<count {
            let (bytes, port) = packet(index)
            let start = buffer + index * slot + headroom
            bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
            batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: port, headroom: headroom)
        }
        dataplane.process(batch, now: clock)
    }

    /// Refills the batch with packets into the tunnel (`into`), out of it, or both, alternating.
    @inline(__always)
    func run(into: Bool?) {
        batch.removeAll()
        for index in 0..<256 {
            let template = into.map { $0 ? (index & ~1) : (index | 1) } ?? index
            let start = buffer + index * slot + headroom
            templates[template].bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            batch.append(start, length: templates[template].bytes.count, capacity: slot - headroom,
                         ingressPort: templates[template].port, headroom: headroom)
        }
        clock += 1_000_000
        dataplane.process(batch, now: clock)
    }
}

/// Built once: 10k tunnelled flows.
nonisolated(unsafe) let tunnelled = TunnelSetup(sessions: 10_000)

/// Built once: the default topology and its tables.
nonisolated(unsafe) let defaultTopology = Topology.load(yaml: Topology.defaultYAML).topology!
nonisolated(unsafe) let defaultTables = defaultTopology.forwardingTables()

/// Built once: 100k sessions take a second to open.
nonisolated(unsafe) let established = Setup(sessions: 100_000, flowCapacity: 1 << 18)

/// 50,000 SYNs, alternating between the two clients (25,000 per zone, under the 55,000 ports of
/// each NLB node's pool towards its target).
nonisolated(unsafe) let newFlowSYNs: [([UInt8], Int)] = {
    let setup = Setup(sessions: 0, flowCapacity: 1)
    return (0..<50_000).map { index in
        let client = setup.clients[index % 2]
        return (Setup.tcp(client.address, UInt16(1024 + index / 2), client.endpoint, 80, .syn, seq: UInt32(index)), client.port)
    }
}()

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        timeUnits: .nanoseconds,
        maxDuration: .seconds(3),
        maxIterations: 1000,
        // A regression: any malloc on the hot path, or a median 30% slower than the thresholds
        // kept in Thresholds/ (the machine is shared and noisy).
        thresholds: [.mallocCountTotal: .init(absolute: [.p0: 0, .p50: 0, .p100: 0]),
                     .wallClock: .init(relative: [.p50: 30.0])]
    )

    // Each sample sends about a million packets (3906 batches of 256); the time is per packet.
    Benchmark("Established flows: consumer -> endpoint -> NLB -> target and back, 64-byte TCP, 100k sessions",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        precondition(established.dataplane.flows.count == 100_000, "every session opened")
        for _ in 0..<(benchmark.scaledIterations.count / 256) { established.runEstablished() }
        blackHole(established.dataplane.counters.totalDrops)
    }

    Benchmark("Reply direction only: target -> NLB node -> endpoint -> consumer, 64-byte TCP, 100k sessions",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 256) { established.runEstablished(repliesOnly: true) }
        blackHole(established.dataplane.counters.totalDrops)
    }

    // The GWLB endpoint's tunnel, on the same hot path: encapsulation (68 bytes of outer IPv4,
    // UDP and GENEVE with AWS's options, written in front of the packet), decapsulation (the
    // options and cookie checked against the flow's), and the two alternating.
    Benchmark("GWLB tunnel: into it (encapsulate), 64-byte TCP both directions, 10k flows",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        precondition(tunnelled.dataplane.flows.count == 10_000, "every flow opened")
        for _ in 0..<(benchmark.scaledIterations.count / 256) { tunnelled.run(into: true) }
        precondition(tunnelled.dataplane.counters.totalDrops == 0, "every packet tunnelled")
    }

    Benchmark("GWLB tunnel: out of it (decapsulate), returns from the appliance, 10k flows",
              configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 256) { tunnelled.run(into: false) }
        precondition(tunnelled.dataplane.counters.totalDrops == 0, "every return matched")
    }

    Benchmark("GWLB tunnel: into and out of it, alternating, 10k flows", configuration: .init(scalingFactor: .mega)) { benchmark in
        for _ in 0..<(benchmark.scaledIterations.count / 256) { tunnelled.run(into: nil) }
        blackHole(tunnelled.dataplane.counters.totalDrops)
    }

    // Each sample: a fresh dataplane with 10k sessions open, then 1000 packets (4 batches of 250)
    // of which every tenth opens a new connection. The time is per packet.
    Benchmark("Mix: 90% established, 10% new flows", configuration: .init(scalingFactor: .kilo, maxIterations: 200)) { benchmark in
        let setup = Setup(sessions: 10_000, flowCapacity: 1 << 15)
        let first = Int.random(in: 0..<400) * 100
        benchmark.startMeasurement()
        var next = first
        for _ in 0..<4 {
            setup.batch.removeAll()
            for index in 0..<250 {
                let start = setup.buffer + index * setup.slot
                let (bytes, port) = index % 10 == 9 ? newFlowSYNs[next] : setup.templates[index]
                if index % 10 == 9 { next += 1 }
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                setup.batch.append(start, length: bytes.count, capacity: setup.slot, ingressPort: port)
            }
            setup.clock += 1_000_000
            setup.dataplane.process(setup.batch, now: setup.clock)
        }
        benchmark.stopMeasurement()
        blackHole(setup.dataplane.flows.count)
    }

    // Each sample opens 1000 connections (4 batches of 250) in a fresh dataplane: security
    // groups, the NLB's choice (Maglev), a NAT port, two flow-table entries, the translation.
    // The time is per new flow.
    Benchmark("New flows through the endpoint", configuration: .init(scalingFactor: .kilo, maxIterations: 200)) { benchmark in
        let setup = Setup(sessions: 0, flowCapacity: 1 << 12)
        let first = Int.random(in: 0..<49) * 1000
        benchmark.startMeasurement()
        var next = first
        for _ in 0..<4 {
            setup.batch.removeAll()
            for index in 0..<250 {
                let (bytes, port) = newFlowSYNs[next]
                next += 1
                let start = setup.buffer + index * setup.slot
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                setup.batch.append(start, length: bytes.count, capacity: setup.slot, ingressPort: port)
            }
            setup.dataplane.process(setup.batch, now: 1_000_000_000)
        }
        benchmark.stopMeasurement()
        precondition(setup.dataplane.counters.totalDrops == 0, "every SYN opened a flow")
        blackHole(setup.dataplane.flows.count)
    }

    Benchmark("Flow table lookup, 1M sessions, hit", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in 0..<benchmark.scaledIterations.count { blackHole(lookupTable.lookup(lookupKeys[index % lookupKeys.count])) }
    }

    Benchmark("Flow table lookup, 1M sessions, miss", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for index in 0..<benchmark.scaledIterations.count {
            var key = lookupKeys[index % lookupKeys.count]
            key.destinationPort = 81
            blackHole(lookupTable.lookup(key))
        }
    }

    Benchmark("Flow table memory for 1M sessions", configuration: .init(metrics: [.peakMemoryResident], maxIterations: 1)) { benchmark in
        blackHole(lookupTable.count)
        blackHole(FlowTable.memoryFootprint(capacity: 1_000_000))
    }
}

nonisolated(unsafe) let lookupKeys: [FlowKey] = (0..<1_000_000).map { index in
    FlowKey(source: IPv4Address(UInt32(0x0A00_0000 + index)), destination: IPv4Address(0x0A01_0001),
            sourcePort: UInt16(truncatingIfNeeded: index &* 7919), destinationPort: 80, proto: .tcp)
}

nonisolated(unsafe) let lookupTable: FlowTable = {
    let table = FlowTable(capacity: 1_000_000, seed: 7)
    for key in lookupKeys { _ = table.insert(forward: key, reverse: key.reversed) }
    return table
}()
