import AllocationCounter
import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

/// The hot path allocates nothing (docs/ARCHITECTURE.md, "The hot path"): packets through the
/// dataplane, counted by malloc itself. Each count ends with a probe's one allocation, which the
/// counter must see, so a counter that stopped counting fails the test instead of passing it.
@Suite("Allocations")
struct AllocationTests {
    /// The allocations `body` makes on this thread.
    static func allocations(during body: () -> Void, sourceLocation: SourceLocation = #_sourceLocation) -> Int {
        allocation_counter_start()
        body()
        allocation_counter_probe()
        let counted = allocation_counter_stop()
        #expect(counted >= 1, "the allocation counter missed its own probe: it does not count", sourceLocation: sourceLocation)
        return counted - 1
    }

    /// A million packets of 64 established connections through the endpoint, both ways, 20 ms
    /// of the clock apart per batch (78 s in all): on the way, the expiry sweep inside the
    /// batches ends 256 UDP flows that idle out after 30 s, and every connection's flow-log
    /// interval (10 s here) rolls over seven times.
    @Test func aMillionForwardedPacketsAllocateNothing() {
        let h = Harness {
            $0.flowCapacity = 4096
            $0.flowLogInterval = 10 * DataplaneConfiguration.second
        }
        let client = h.ipv4("client-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let (clientPort, targetPort) = (h.port("client-a"), h.port("web-a"))
        // 64 connections through the endpoint, each with its whole handshake, opened before
        // counting (new flows build state).
        var natPorts: [UInt16] = []
        for index in 0..<64 {
            let port = UInt16(30000 + index)
            let syn = h.send(Packets.tcp(client, port, endpoint, 80, .syn), from: clientPort, at: 1)
            natPorts.append(Seen(syn.bytes).sourcePort)
            h.send(Packets.tcp(h.ipv4("web-a"), 80, node, natPorts[index], [.syn, .ack], seq: 1, ack: 1001), from: targetPort, at: 1)
            h.send(Packets.tcp(client, port, endpoint, 80, .ack, seq: 1001, ack: 2), from: clientPort, at: 1)
        }
        // 256 UDP flows from client-a's IPv6 address to the internet, never heard from again.
        let internet = IPv6Address(high: 0x2001_0DB8_0000_0000, low: 0x10)
        for index in 0..<256 {
            let datagram = PacketBuilder.ipv6Packet(IPv6Fields(source: h.ipv6("client-a"), destination: internet),
                                                    .udp(UDPFields(sourcePort: UInt16(40000 + index), destinationPort: 53)),
                                                    payload: [1, 2, 3, 4])
            #expect(h.send(datagram, from: clientPort, at: 1).port == h.port("igw-consumer"))
        }
        #expect(h.dataplane.flows.count == 64 + 256)
        // A batch of 256 packets: both directions of every connection, kept in our own buffers.
        var templates: [(bytes: [UInt8], port: Int, expected: Verdict)] = []
        for index in 0..<128 {
            let connection = index % 64
            if index % 2 == 0 {
                templates.append((Packets.tcp(client, UInt16(30000 + connection), endpoint, 80, .ack, seq: 1001, ack: 2, payload: 24),
                                  clientPort, .forwarded(targetPort)))
            } else {
                templates.append((Packets.tcp(h.ipv4("web-a"), 80, node, natPorts[connection], .ack, seq: 2, ack: 1001, payload: 24),
                                  targetPort, .forwarded(clientPort)))
            }
        }
        let slot = 128
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot * 256, alignment: 64)
        defer { buffer.deallocate() }
        let batch = PacketBatch()
        for index in 0..<256 {
            batch.append(buffer + index * slot, length: 0, capacity: slot, ingressPort: templates[index % 128].port)
        }
        let expiredBefore = h.dataplane.counters.sessionsExpired
        var time: Int64 = 1_000_000_000
        var forwarded = 0, other = 0, records = 0
        let allocations = Self.allocations {
            for _ in 0..<(1_000_000 / 256 + 1) {
                // Refilling copies bytes into the same buffers: no allocation either.
                for index in 0..<256 {
                    let template = templates[index % 128]
                    template.bytes.withUnsafeBytes { (buffer + index * slot).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                    batch.lengths[index] = template.bytes.count
                }
                time += 20_000_000
                h.dataplane.process(batch, now: time)
                for index in 0..<256 {
                    if batch.verdicts[index] == templates[index % 128].expected { forwarded += 1 } else { other += 1 }
                }
                h.dataplane.flowRecords.drain { _ in records += 1 }
            }
        }
        #expect(forwarded >= 1_000_000 && other == 0, "every packet forwarded where its flow goes: \(other) not (a RST is not)")
        #expect(h.dataplane.counters.sessionsExpired - expiredBefore == 256, "the sweep ended the idle UDP flows mid-run")
        #expect(records >= 64 * 7, "flow-log intervals rolled over: \(records) records")
        #expect(allocations == 0, "\(allocations) allocations over \(forwarded) packets")
    }
}

/// 2048 SYNs from client-a to the web endpoint, made before counting starts, sent in 8 batches
/// of 256 through one buffer allocated up front.
final class SYNRounds {
    let templates: [[UInt8]]
    let batch = PacketBatch()
    let slot = 128
    let buffer: UnsafeMutableRawPointer
    let clientPort: Int
    let targetPorts: Set<Int>

    init(_ h: Harness) {
        let client = h.ipv4("client-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        templates = (0..<2048).map { Packets.tcp(client, UInt16(20000 + $0), endpoint, 80, .syn, seq: UInt32($0)) }
        buffer = .allocate(byteCount: slot * 256, alignment: 64)
        clientPort = h.port("client-a")
        targetPorts = [h.port("web-a"), h.port("web-b")]
        // Warm up once: a first call may build lazily initialised globals.
        _ = h.send(Packets.tcp(client, 19999, endpoint, 80, .syn), from: clientPort)
    }

    deinit { buffer.deallocate() }

    /// Sends the rounds `gap` nanoseconds apart, draining the flow records after each when
    /// asked; returns how many SYNs were forwarded to a target.
    func send(_ h: Harness, gap: Int64, drain: Bool) -> Int {
        var forwarded = 0
        for round in 0..<8 {
            batch.removeAll()
            for index in 0..<256 {
                let bytes = templates[round * 256 + index]
                bytes.withUnsafeBytes { (buffer + index * slot).copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.append(buffer + index * slot, length: bytes.count, capacity: slot, ingressPort: clientPort)
            }
            h.dataplane.process(batch, now: Int64(round) * gap)
            for index in 0..<256 where batch.verdicts[index].action == .forwarded {
                if let port = batch.verdicts[index].port, targetPorts.contains(port) { forwarded += 1 }
            }
            if drain { h.dataplane.flowRecords.drain { _ in } }
        }
        return forwarded
    }
}

extension AllocationTests {
    /// New flows too: the NLB's choice, the source port, the session, the translation; and the
    /// sweep that expires them.
    @Test func newFlowsAndExpiryAllocateNothing() {
        let h = Harness { $0.flowCapacity = 8192 }
        let rounds = SYNRounds(h)
        var forwarded = 0, records = 0
        let allocations = Self.allocations {
            forwarded = rounds.send(h, gap: 1_000_000_000, drain: false)
            // Everything idles out: the sweep ends every session and records its flow log.
            h.dataplane.endAllSessions(now: 10_000 * 1_000_000_000) { _ in records += 1 }
        }
        #expect(forwarded == 2048)
        #expect(records == 2049 * 4, "one direction each, at four ENIs (client, endpoint, NLB node, target): none lost")
        #expect(allocations == 0, "\(allocations) allocations for 2048 new flows")
    }

    /// Half-open sessions giving way (a pool of 64 ports under 2048 SYNs), and the queues and
    /// sweep that expire them with no packets (a timer's ticks).
    @Test func givingWayAndTimerExpiryAllocateNothing() {
        let h = Harness { $0.flowCapacity = 1024; $0.portsPerPool = 64 }
        let rounds = SYNRounds(h)
        var forwarded = 0
        let allocations = Self.allocations {
            forwarded = rounds.send(h, gap: 1_000_000, drain: true)
            for tick in 0..<100 {
                h.dataplane.expire(now: 30_000_000_000 + Int64(tick) * 20_000_000)
                h.dataplane.flowRecords.drain { _ in }
            }
        }
        #expect(forwarded == 2048)
        #expect(h.dataplane.counters.sessionsEvicted == 2048 + 1 - 64)
        #expect(h.dataplane.flows.count == 0, "every half-open session gone after the window")
        #expect(allocations == 0, "\(allocations) allocations")
    }
}

extension AllocationTests {
    /// The GWLB path: both directions of established flows into the tunnel, and both returns
    /// out of it, decapsulated; new flows and their choice of appliance included.
    @Test func tunnelledPacketsAllocateNothing() {
        let h = Harness { $0.flowCapacity = 4096 }
        let client = h.ipv4("client-a")
        let internet = IPv4Address(198, 51, 100, 10)
        let (clientPort, gateway, appliance) = (h.port("client-a"), h.port("igw-consumer"), h.port("appliance-a"))
        let server = h.tables.portMap.outsideHosts.firstIndex { $0.name == "internet-server" }
        // 64 connections opened before counting; what each direction looks like in the tunnel.
        var templates: [(bytes: [UInt8], port: Int, expected: Verdict)] = []
        for index in 0..<64 {
            let port = UInt16(30000 + index)
            let syn = h.send(Packets.tcp(client, port, internet, 80, .syn), from: clientPort)
            let reply = h.send(Packets.tcp(internet, 80, client, port, [.syn, .ack], ack: 1001), from: gateway)
            templates.append((Packets.tcp(client, port, internet, 80, .ack, seq: 1001, ack: 1, payload: 24), clientPort,
                              .encapsulated(appliance)))
            templates.append((Tunnelled.returned(syn.bytes), appliance, .decapsulated(gateway, outsideHost: server)))
            templates.append((Packets.tcp(internet, 80, client, port, .ack, seq: 1, ack: 1001, payload: 24), gateway,
                              .encapsulated(appliance)))
            templates.append((Tunnelled.returned(reply.bytes), appliance, .decapsulated(clientPort)))
        }
        let slot = 256, headroom = 96
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: slot * 256, alignment: 64)
        defer { buffer.deallocate() }
        let batch = PacketBatch()
        func fill(_ round: Int) {
            batch.removeAll()
            for index in 0..<256 {
                let template = templates[(round * 256 + index) % templates.count]
                let start = buffer + index * slot + headroom
                template.bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
                batch.append(start, length: template.bytes.count, capacity: slot - headroom, ingressPort: template.port,
                             headroom: headroom)
            }
        }
        fill(0)
        h.dataplane.process(batch, now: 1_000_000_000)
        var newFlows = (0..<256).map { Packets.udp(client, UInt16(50000 + $0), internet, 53) }
        var time: Int64 = 1_000_000_000
        var forwarded = 0, other = 0
        let allocations = Self.allocations {
            for round in 0..<(1_000_000 / 256 + 1) {
                fill(round)
                time += 1_000_000
                h.dataplane.process(batch, now: time)
                for index in 0..<256 {
                    if batch.verdicts[index] == templates[(round * 256 + index) % templates.count].expected {
                        forwarded += 1
                    } else {
                        other += 1
                    }
                }
            }
            batch.removeAll()
            for index in 0..<256 {
                let start = buffer + index * slot + headroom
                let bytes = newFlows[index]
                bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
                batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: clientPort, headroom: headroom)
            }
            h.dataplane.process(batch, now: time + 1)
            for index in 0..<256 where batch.verdicts[index] == .encapsulated(appliance) { forwarded += 1 }
        }
        newFlows.removeAll()
        #expect(forwarded >= 1_000_000 + 256 && other == 0, "every packet tunnelled or returned where its flow goes: \(forwarded), \(other) not")
        #expect(allocations == 0, "\(allocations) allocations over \(forwarded) packets")
    }
}
