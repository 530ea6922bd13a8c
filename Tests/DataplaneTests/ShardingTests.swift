import Dataplane
import DataplaneFixtures
import PacketWire
import Testing
import TestSupport
import Topology

/// Which worker owns a flow (Sharding.swift): read off a packet's headers, the same for a flow's
/// two directions and for every form the fabric gives it on the way; and the NAT ports a worker
/// picks bring the target's replies back to it.
@Suite("Sharding")
struct ShardingTests {
    static let client = IPv4Address(10, 20, 1, 4), server = IPv4Address(10, 10, 1, 4)

    func owner(_ packet: [UInt8], workers: Int = 4) -> Int {
        packet.withUnsafeBytes { Shard.owner(of: $0, workers: workers) }
    }

    @Test func aFlowAndItsReplyHaveOneOwnerAndFlowsSpreadOverAll() {
        var owners = Set<Int>()
        for port in UInt16(32768)..<32868 {
            let tcp = owner(Packets.tcp(Self.client, port, Self.server, 80, .syn))
            #expect(tcp == owner(Packets.tcp(Self.server, 80, Self.client, port, [.syn, .ack])))
            let udp = owner(Packets.udp(Self.client, port, Self.server, 53))
            #expect(udp == owner(Packets.udp(Self.server, 53, Self.client, port)))
            let v6 = IPv6Address(high: 0xFD00_0020_0000_0001, low: 4), other = IPv6Address(high: 0x2001_0DB8_0000_0000, low: 0x10)
            #expect(owner(Packets.tcp6(v6, port, other, 443, .syn)) == owner(Packets.tcp6(other, 443, v6, port, .ack)))
            // The NLB preserving the client keeps its port and changes the service's (lower) one.
            #expect(tcp == owner(Packets.tcp(Self.client, port, IPv4Address(10, 10, 2, 4), 8080, .syn)))
            owners.insert(tcp)
        }
        #expect(owners == [0, 1, 2, 3], "a hundred client ports reach every one of four workers")
        #expect(owner(Packets.tcp(Self.client, 40000, Self.server, 80, .syn), workers: 1) == 0)
    }

    @Test func icmpBelongsToItsEchoIdentifierOrToTheFlowItQuotes() {
        let request = PacketBuilder.ipv4Packet(IPv4Fields(source: Self.client, destination: Self.server),
                                               .icmp(.echo(request: true, v6: false, identifier: 4242, sequence: 1)))
        let reply = PacketBuilder.ipv4Packet(IPv4Fields(source: Self.server, destination: Self.client),
                                             .icmp(.echo(request: false, v6: false, identifier: 4242, sequence: 1)))
        #expect(owner(request) == owner(reply))
        #expect(owner(request) == Shard.owner(ports: 4242, 4242, workers: 4))
        // Port unreachable from the server about a UDP datagram of the client's flow.
        let datagram = Packets.udp(Self.client, 40001, Self.server, 53)
        let error = PacketBuilder.ipv4Packet(IPv4Fields(source: Self.server, destination: Self.client),
                                             .icmp(ICMPFields(type: 3, code: 3)), payload: datagram)
        #expect(owner(error) == owner(datagram))
    }

    @Test func genevePacketsBelongToTheFlowInside() {
        for port in UInt16(40000)..<40032 {
            let inner = Packets.tcp(Self.client, port, IPv4Address(198, 51, 100, 10), 80, .syn)
            let tunnelled = PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 40, 1, 4), destination: IPv4Address(10, 40, 1, 5)),
                                                     .udp(UDPFields(sourcePort: 6081, destinationPort: GENEVEHeader.udpPort)),
                                                     payload: gwlbDatagram(inner: inner))
            #expect(owner(tunnelled) == owner(inner))
        }
    }

    @Test func whatHasNoPortsIsWorkerZeros() {
        var later = IPv4Fields(source: Self.client, destination: Self.server)
        later.fragmentOffset = 1480
        #expect(owner(PacketBuilder.ipv4Packet(later, .raw(.udp), payload: [UInt8](repeating: 7, count: 64))) == 0)
        #expect(owner([]) == 0)
        #expect(owner([0x45, 0, 0]) == 0)
        #expect(owner(PacketBuilder.ipv4Packet(IPv4Fields(source: Self.client, destination: Self.server), .raw(IPProtocol(rawValue: 47)),
                                               payload: [1, 2, 3, 4, 5, 6, 7, 8])) == 0)
    }

    /// Each of two workers picks NAT ports through the endpoint whose translated flow (node to
    /// target) it owns, so the target's replies come back to it; the two never pick the same.
    @Test func natPortsHashHomeAndTheWorkersShareThePool() {
        var picked: [Set<UInt16>] = [[], []]
        for index in 0..<2 {
            let h = Harness { $0.shard = Shard(index: index, count: 2) }
            let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
            for port in UInt16(30000)..<30200 {
                let syn = h.send(Packets.tcp(h.ipv4("client-a"), port, endpoint, 80, .syn), from: h.port("client-a"), at: 1)
                let seen = Seen(syn.bytes)
                #expect(Shard.owner(ports: seen.sourcePort, seen.destinationPort, workers: 2) == index)
                picked[index].insert(seen.sourcePort)
            }
            let balancer = h.tables.loadBalancers.firstIndex { $0.name == "web-nlb" }!
            let zoneA = h.tables.loadBalancers[balancer].nodes.firstIndex { h.tables.zoneNames[$0.zone] == "us-east-1a" }!
            let node = h.tables.nodes.number(balancer: balancer, node: zoneA)
            let used = ["web-a:80", "web-b:80"].reduce(0) { $0 + h.dataplane.natPortsInUse(node: node, target: h.target($1)) }
            #expect(used == 200, "what is left to the other worker is not counted as used")
        }
        #expect(picked[0].isDisjoint(with: picked[1]))
    }

    /// A worker's share of a pool is about half of its ports, and is all it hands out: past it,
    /// new flows make room by ending half-open ones, as a full pool does.
    @Test func aWorkersShareOfAPoolRunsOutAlone() {
        let h = Harness {
            $0.shard = Shard(index: 1, count: 2)
            $0.portsPerPool = 64
        }
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let share = (0..<64).filter { Shard.owner(ports: PortAllocators.firstPort + UInt16($0), 80, workers: 2) == 1 }.count
        var ports = Set<UInt16>()
        for port in UInt16(30000)..<30100 {
            let syn = h.send(Packets.tcp(h.ipv4("client-a"), port, endpoint, 80, .syn), from: h.port("client-a"), at: 1)
            ports.insert(Seen(syn.bytes).sourcePort)
        }
        #expect(share > 16 && share < 48)
        #expect(ports.count == share)
        #expect(h.dataplane.counters.sessionsEvicted == UInt64(100 - share))
    }

    /// Telling a packet's owner, as every worker does for every packet it reads, allocates
    /// nothing: TCP, UDP, ICMP errors and GENEVE.
    @Test func tellingTheOwnerAllocatesNothing() {
        let inner = Packets.tcp(Self.client, 40000, IPv4Address(198, 51, 100, 10), 80, .syn)
        let packets = [Packets.tcp(Self.client, 40000, Self.server, 80, .syn), Packets.udp(Self.server, 53, Self.client, 40001),
                       PacketBuilder.ipv4Packet(IPv4Fields(source: Self.server, destination: Self.client),
                                                .icmp(ICMPFields(type: 3, code: 3)), payload: Packets.udp(Self.client, 40001, Self.server, 53)),
                       PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 40, 1, 4), destination: IPv4Address(10, 40, 1, 5)),
                                                .udp(UDPFields(sourcePort: 6081, destinationPort: GENEVEHeader.udpPort)),
                                                payload: gwlbDatagram(inner: inner))]
        var sum = 0
        func tell(_ times: Int) {
            for index in 0..<packets.count {
                packets[index].withUnsafeBytes { bytes in
                    for _ in 0..<times { sum &+= Shard.owner(of: bytes, workers: 3) }
                }
            }
        }
        // Once before counting: the runtime's first use of a generic's metadata allocates.
        tell(1)
        let allocations = AllocationTests.allocations { tell(100_000) }
        #expect(allocations == 0)
        #expect(sum > 0)
    }
}
