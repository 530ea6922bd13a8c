import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

// Fixtures for the GWLB endpoint path (docs/aws-behaviour.md §6), as the spec reads: what a host
// sends, what comes out of the appliance's port (GENEVE, byte for byte), what the appliance
// returns, and where the packet goes after it; and the cases the GWLB drops.

extension Harness {
    var website: IPv4Address { IPv4Address(203, 0, 113, 80) }

    /// The appliance a tunnelled packet went to, by host name.
    func appliance(of outcome: Outcome) -> String? {
        guard let port = outcome.port else { return nil }
        return tables.ports[port].name
    }
}

@Suite("Gateway Load Balancer endpoint")
struct GatewayLoadBalancerTests {
    /// The encapsulation, byte by byte: outer IPv4 from the GWLB node in the endpoint's zone to
    /// the appliance, UDP to 6081, GENEVE version 0 with 8 words of options, protocol 0x0800, VNI 0,
    /// AWS's options in order (endpoint ID, attachment ID, cookie), then the packet unchanged.
    @Test func aNewFlowIsTunnelledToAnApplianceOfTheEndpointsZone() {
        let h = Harness(yaml: inspectionYAML())
        let syn = Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .syn, seq: 7)
        let out = h.send(syn, from: h.port("app"))
        #expect(["fw-1", "fw-2", "fw-3"].contains(h.appliance(of: out) ?? ""), "an appliance of eu-west-1a, not \(String(describing: h.appliance(of: out)))")
        #expect(out.bytes.count == syn.count + 68, "68 bytes of overhead")
        let seen = Tunnelled(out.bytes)
        #expect(seen.outerSource == h.nodeENI("gwlb", zone: "eu-west-1a").ipv4!.description)
        #expect(seen.outerDestination == h.ipv4(h.appliance(of: out)!).description)
        #expect(seen.headerChecksumValid && seen.dontFragment)
        #expect(seen.destinationPort == 6081)
        #expect(seen.sourcePort >= 49152, "an ephemeral source port, from the flow's hash")
        #expect(seen.udpChecksum == 0)
        #expect(seen.protocolType == 0x0800 && seen.vni == 0)
        #expect(seen.optionOrder == [1, 2, 3])
        let endpoint = h.topology.endpoints.first { $0.name == "gwlbe" }!
        #expect(seen.options?.endpointID == UInt64(endpoint.id.dropFirst(5), radix: 16), "the vpce- ID as a number")
        #expect(seen.options?.attachmentID == endpoint.tunnelOptions.attachmentID)
        #expect(seen.inner == syn, "the packet inside, unchanged")
        // Byte for byte: the first 20 bytes of the GENEVE header are fixed by the endpoint.
        let geneve = Array(out.bytes[28..<48])
        let id = seen.options!.endpointID
        #expect(geneve == [0x08, 0x00, 0x08, 0x00, 0, 0, 0, 0, 0x01, 0x08, 0x01, 0x02]
                + (0..<8).map { UInt8(truncatingIfNeeded: id >> (56 - 8 * $0)) })
    }

    /// The appliance's return goes on by the endpoint subnet's route (to the internet gateway),
    /// as the host sent it; the reply comes back through the edge route to the same appliance,
    /// with the same tunnel, and out to the host.
    @Test func bothDirectionsCrossTheSameApplianceAndLeaveAsTheySentIt() {
        let h = Harness(yaml: inspectionYAML())
        let syn = Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .syn, seq: 7)
        let out = h.send(syn, from: h.port("app"))
        let appliance = h.appliance(of: out)!
        let back = h.send(Tunnelled.returned(out.bytes), from: h.port(appliance))
        #expect(back.port == h.port("igw-app"))
        #expect(back.bytes == syn, "decapsulated, unchanged")

        let synAck = Packets.tcp(h.website, 80, h.ipv4("app"), 40000, [.syn, .ack], seq: 900, ack: 8)
        let reply = h.send(synAck, from: h.port("igw-app"))
        #expect(h.appliance(of: reply) == appliance, "symmetric: the reply reaches the same appliance")
        let forward = Tunnelled(out.bytes), backward = Tunnelled(reply.bytes)
        #expect(backward.sourcePort == forward.sourcePort && backward.options == forward.options, "one flow, one tunnel")
        #expect(backward.inner == synAck)
        let delivered = h.send(Tunnelled.returned(reply.bytes), from: h.port(appliance))
        #expect(delivered.port == h.port("app"))
        #expect(delivered.bytes == synAck)
        #expect(h.dataplane.flows.count == 1)
        #expect(h.dataplane.counters.endpoints[0].flows == 1 && h.dataplane.counters.endpoints[0].packets == 2)
    }

    /// IPv6 inside, IPv4 outside (the tunnel is always IPv4), protocol type 0x86DD.
    @Test func ipv6IsCarriedInAnIPv4Tunnel() {
        let h = Harness(yaml: inspectionYAML())
        let syn = Packets.tcp6(h.ipv6("app"), 40000, IPv6Address("2001:db8::80")!, 80, .syn)
        let out = h.send(syn, from: h.port("app"))
        let seen = Tunnelled(out.bytes)
        #expect(seen.protocolType == 0x86DD && seen.inner == syn)
        #expect(seen.outerSource == h.nodeENI("gwlb", zone: "eu-west-1a").ipv4!.description)
        let back = h.send(Tunnelled.returned(out.bytes), from: h.port(h.appliance(of: out)!))
        #expect(back.port == h.port("igw-app") && back.bytes == syn)
    }

    /// Packets without headroom are moved up to make room: the same bytes come out.
    @Test func encapsulationWithoutHeadroomMovesThePacket() {
        let h = Harness(yaml: inspectionYAML())
        let syn = Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .syn, payload: 100)
        let roomy = h.send(syn, from: h.port("app"), headroom: 128)
        let other = Harness(yaml: inspectionYAML())
        let tight = other.send(syn, from: other.port("app"), headroom: 0)
        #expect(tight.bytes == roomy.bytes && tight.port == roomy.port)
    }
}

extension GatewayLoadBalancerTests {
    /// Flows from one client to one server on 64 source ports: which appliances they reach.
    static func appliances(_ h: Harness, flows: Int = 64, proto: IPProtocol = .tcp, destinationPort: UInt16 = 80) -> [String] {
        (0..<flows).map { index in
            let port = UInt16(41000 + index)
            let packet = proto == .tcp ? Packets.tcp(h.ipv4("app"), port, h.website, destinationPort, .syn)
                : Packets.udp(h.ipv4("app"), port, h.website, destinationPort)
            return h.appliance(of: h.send(packet, from: h.port("app"))) ?? "dropped"
        }
    }

    /// 5-tuple stickiness (the default) spreads a client's connections over the zone's
    /// appliances; 3-tuple keeps them on one; 2-tuple keeps every protocol between two hosts on
    /// one.
    @Test func stickinessDecidesWhatPicksTheAppliance() {
        let five = Set(Self.appliances(Harness(yaml: inspectionYAML())))
        #expect(five == ["fw-1", "fw-2", "fw-3"], "spread over the zone: \(five)")

        let three = Harness(yaml: inspectionYAML(stickiness: "3-tuple"))
        let threeTCP = Set(Self.appliances(three))
        #expect(threeTCP.count == 1, "one appliance for all ports: \(threeTCP)")

        var tcpSpreadsFromUDP = false
        for seed in 0..<8 {
            // Over a few seeds, 3-tuple puts TCP and UDP on different appliances at least once; 2-tuple never.
            let threeTuple = Harness(yaml: inspectionYAML(stickiness: "3-tuple")) { $0.seed = UInt64(seed) }
            if Set(Self.appliances(threeTuple, flows: 4)) != Set(Self.appliances(threeTuple, flows: 4, proto: .udp, destinationPort: 53)) {
                tcpSpreadsFromUDP = true
            }
            let twoTuple = Harness(yaml: inspectionYAML(stickiness: "2-tuple")) { $0.seed = UInt64(seed) }
            let both = Set(Self.appliances(twoTuple, flows: 4) + Self.appliances(twoTuple, flows: 4, proto: .udp, destinationPort: 53))
            #expect(both.count == 1, "2-tuple: one appliance for both protocols (seed \(seed)): \(both)")
        }
        #expect(tcpSpreadsFromUDP, "3-tuple hashes the protocol")
    }

    /// The appliance hash is symmetric in every stickiness mode: a packet started by the other
    /// side of the same flow (a new flow from the internet) picks the same appliance.
    @Test(arguments: ["5-tuple", "3-tuple", "2-tuple"])
    func theChoiceIsSymmetric(_ stickiness: String) {
        for index in 0..<32 {
            let port = UInt16(42000 + index)
            let outbound = Harness(yaml: inspectionYAML(stickiness: stickiness))
            let a = outbound.appliance(of: outbound.send(Packets.udp(outbound.ipv4("app"), port, outbound.website, 53),
                                                         from: outbound.port("app")))
            let inbound = Harness(yaml: inspectionYAML(stickiness: stickiness))
            let b = inbound.appliance(of: inbound.send(Packets.udp(inbound.website, 53, inbound.ipv4("app"), port),
                                                       from: inbound.port("igw-app")))
            #expect(a != nil && a == b, "port \(port): \(String(describing: a)) one way, \(String(describing: b)) the other")
        }
    }
}

extension GatewayLoadBalancerTests {
    /// Opens a UDP flow and returns the tunnelled packet.
    static func open(_ h: Harness, port: UInt16 = 40000, at time: Double = 0) -> Harness.Outcome {
        h.send(Packets.udp(h.ipv4("app"), port, h.website, 53), from: h.port("app"), at: time)
    }

    /// Rewrites the bytes of a tunnelled packet at `offset`, as a broken appliance might.
    static func altered(_ bytes: [UInt8], at offset: Int, to value: UInt8) -> [UInt8] {
        var copy = Tunnelled.returned(bytes)
        copy[offset] = value
        return copy
    }

    @Test func alteredOrMissingOptionsAreDropped() {
        let h = Harness(yaml: inspectionYAML())
        let out = Self.open(h)
        let appliance = h.port(h.appliance(of: out)!)
        // The cookie is the last 4 bytes of the options (bytes 64..<68); the endpoint ID 40..<48.
        #expect(h.send(Self.altered(out.bytes, at: 67, to: out.bytes[67] ^ 1), from: appliance).drop == .gatewayOptionsAltered)
        #expect(h.send(Self.altered(out.bytes, at: 47, to: out.bytes[47] ^ 1), from: appliance).drop == .gatewayOptionsAltered)
        #expect(h.send(Self.altered(out.bytes, at: 55, to: out.bytes[55] ^ 1), from: appliance).drop == .gatewayOptionsAltered)
        // The cookie's option turned into another class: missing.
        #expect(h.send(Self.altered(out.bytes, at: 60, to: 0x09), from: appliance).drop == .gatewayBadTunnel)
        // GENEVE version 1, and an Ethernet payload, are not what GWLB speaks.
        #expect(h.send(Self.altered(out.bytes, at: 28, to: 0x48), from: appliance).drop == .gatewayBadTunnel)
        #expect(h.send(Self.altered(out.bytes, at: 30, to: 0x65), from: appliance).drop == .gatewayBadTunnel)
        // The unaltered return still passes.
        #expect(h.send(Tunnelled.returned(out.bytes), from: appliance).port == h.port("igw-app"))
        #expect(h.dataplane.counters.drops(.gatewayOptionsAltered) == 3)
    }

    /// Appliances cannot start flows: GENEVE with valid options around a flow the GWLB never
    /// sent is dropped; so is a return from another appliance than the flow's.
    @Test func appliancesCannotStartFlows() {
        let h = Harness(yaml: inspectionYAML())
        let out = Self.open(h)
        let appliance = h.appliance(of: out)!
        var other = Tunnelled.returned(out.bytes)
        // The inner UDP source port (inner bytes start at 68; its ports at 68 + 20).
        other[68 + 21] ^= 0x01
        #expect(h.send(other, from: h.port(appliance)).drop == .applianceInitiated)
        // The same GENEVE from another appliance's port and address.
        let stranger = ["fw-1", "fw-2", "fw-3"].first { $0 != appliance }!
        var spoofed = Tunnelled.returned(out.bytes)
        let address = h.ipv4(stranger).value
        for index in 0..<4 { spoofed[12 + index] = UInt8(truncatingIfNeeded: address >> (24 - 8 * UInt32(index))) }
        spoofed.withUnsafeMutableBytes { try? IPv4Packet($0).updateHeaderChecksum() }
        #expect(h.send(spoofed, from: h.port(stranger)).drop == .gatewayWrongAppliance)
        #expect(h.dataplane.counters.drops(.applianceInitiated) == 1)
    }

    /// GWLB fragments nothing and sends no ICMP: an inner packet over 8500 bytes is dropped,
    /// one of 8500 goes through; an offloaded super-packet is judged by its segments.
    @Test func innerPacketsOver8500BytesAreDropped() {
        let h = Harness(yaml: inspectionYAML())
        let open = h.send(Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .syn), from: h.port("app"))
        #expect(open.port != nil)
        let fits = Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .ack, seq: 1001, payload: 8500 - 40)
        #expect(h.send(fits, from: h.port("app")).port == open.port)
        let big = Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .ack, seq: 1001, payload: 8501 - 40)
        #expect(h.send(big, from: h.port("app")).drop == .gatewayOversize)
        #expect(h.send(big, from: h.port("app"), segmentLength: 1500).port == open.port, "segments of 1500 bytes")
        let newBig = Packets.udp(h.ipv4("app"), 40001, h.website, 53, payload: 8600)
        #expect(h.send(newBig, from: h.port("app")).drop == .gatewayOversize)
    }
}

extension GatewayLoadBalancerTests {
    /// Opens `count` UDP flows, returning each one's appliance.
    static func spread(_ h: Harness, count: Int = 24, base: UInt16 = 43000, at time: Double = 0) -> [String] {
        (0..<count).map { h.appliance(of: open(h, port: base + UInt16($0), at: time)) ?? "dropped" }
    }

    func markUnhealthy(_ h: Harness, _ names: [String]) {
        for name in names { h.dataplane.setTargetHealth(h.target("\(name):6081"), healthy: false) }
    }

    /// no_rebalance (the default): the flows of an unhealthy appliance stay with it; new flows
    /// go to healthy ones.
    @Test func noRebalanceKeepsFlowsWhereTheyAre() {
        let h = Harness(yaml: inspectionYAML())
        let before = Self.spread(h)
        let victim = before[0]
        markUnhealthy(h, [victim])
        let again = Self.spread(h)
        #expect(again == before, "established flows keep their appliance")
        let fresh = Self.spread(h, base: 44000)
        #expect(!fresh.contains(victim), "new flows avoid \(victim): \(fresh)")
        #expect(h.dataplane.counters.flowsRebalanced == 0)
    }

    /// rebalance: the flows of an unhealthy appliance move to healthy ones, the others stay;
    /// what the old appliance still returns for a moved flow is dropped.
    @Test func rebalanceMovesTheFlowsOfAnUnhealthyAppliance() {
        let h = Harness(yaml: inspectionYAML(failover: "rebalance"))
        var first: [Harness.Outcome] = []
        for index in 0..<24 { first.append(Self.open(h, port: 43000 + UInt16(index))) }
        let before = first.map { h.appliance(of: $0)! }
        let victim = before[0]
        markUnhealthy(h, [victim])
        let after = Self.spread(h)
        for (old, new) in zip(before, after) {
            if old == victim { #expect(new != victim, "moved off \(victim)") } else { #expect(new == old, "kept on \(old)") }
        }
        #expect(h.dataplane.counters.flowsRebalanced == UInt64(before.filter { $0 == victim }.count))
        // The first flow's packet from before the move, returned late by the old appliance.
        #expect(h.send(Tunnelled.returned(first[0].bytes), from: h.port(victim)).drop == .gatewayWrongAppliance)
    }

    /// Every appliance unhealthy: each new flow gets one at random and keeps it (its packets are
    /// lost while that appliance is down, as in AWS).
    @Test func allUnhealthyPicksAtRandomAndKeeps() {
        let h = Harness(yaml: inspectionYAML(stickiness: "2-tuple", failover: "rebalance"))
        markUnhealthy(h, ["fw-1", "fw-2", "fw-3", "fw-b"])
        let chosen = Self.spread(h, count: 30)
        #expect(Set(chosen).count > 1, "random, not by the 2-tuple (one client, one server): \(Set(chosen))")
        #expect(Set(chosen).isSubset(of: ["fw-1", "fw-2", "fw-3"]), "within the node's zone")
        #expect(Self.spread(h, count: 30) == chosen, "kept for the flow's life")
        #expect(h.dataplane.counters.flowsRebalanced == 0, "nothing healthy to move to")
    }
}

extension GatewayLoadBalancerTests {
    /// TCP flows idle 350 s by default; then a segment other than a SYN is dropped; the next SYN
    /// starts a new flow.
    @Test func tcpIdleTimeoutDropsNonSYNSegments() {
        let h = Harness(yaml: inspectionYAML())
        let app = h.ipv4("app")
        Self.handshake(h)
        #expect(h.send(Packets.tcp(app, 40000, h.website, 80, .ack), from: h.port("app"), at: 349).port != nil)
        #expect(h.send(Packets.tcp(app, 40000, h.website, 80, .ack), from: h.port("app"), at: 700).drop == .gatewayNoFlow)
        #expect(h.send(Packets.tcp(h.website, 80, app, 40000, .ack), from: h.port("igw-app"), at: 700).drop == .gatewayNoFlow)
        #expect(h.send(Packets.tcp(app, 40000, h.website, 80, .syn), from: h.port("app"), at: 701).port != nil)
    }

    /// With `sendTcpResetOnIdleTimeout`, the segment gets a RST instead, back to its sender;
    /// and a longer idle timeout (5-tuple stickiness) keeps the flow.
    @Test func theListenerCanResetAndLengthenTheTimeout() {
        let h = Harness(yaml: inspectionYAML(listener: ", idleTimeout: 1000, sendTcpResetOnIdleTimeout: true"))
        let app = h.ipv4("app")
        Self.handshake(h)
        #expect(h.send(Packets.tcp(app, 40000, h.website, 80, .ack), from: h.port("app"), at: 999).port != nil)
        let late = h.send(Packets.tcp(app, 40000, h.website, 80, [.psh, .ack], seq: 5000, ack: 77, payload: 10),
                          from: h.port("app"), at: 2100)
        #expect(late.port == h.port("app"))
        let rst = Seen(late.bytes)
        #expect(rst.flags == .rst && rst.sequence == 77 && rst.source == h.website.description && rst.checksumsValid)
        #expect(h.dataplane.counters.resets(.gatewayNoFlow) == 1)
    }

    /// A TCP connection from app to the website through the appliances, handshake finished
    /// (each segment there and back through the flow's appliance).
    static func handshake(_ h: Harness) {
        let app = h.ipv4("app")
        for (packet, port) in [(Packets.tcp(app, 40000, h.website, 80, .syn), "app"),
                               (Packets.tcp(h.website, 80, app, 40000, [.syn, .ack], seq: 0, ack: 1001), "igw-app"),
                               (Packets.tcp(app, 40000, h.website, 80, .ack, seq: 1001, ack: 1), "app")] {
            let out = h.send(packet, from: h.port(port))
            #expect(h.send(Tunnelled.returned(out.bytes), from: out.port!).port != nil)
        }
    }

    /// The cookie and, with every appliance unhealthy, the appliance come from the flow's first
    /// packet, not the clock: the same packets a live run sent give the same tunnel in a replay of
    /// their capture, whose clock is another.
    @Test func cookieAndAllUnhealthyChoiceFollowThePacketNotTheClock() {
        func tunnel(at time: Double, allUnhealthy: Bool) -> (String?, GWLBOptions?) {
            let h = Harness(yaml: inspectionYAML())
            if allUnhealthy { for target in h.tables.targets.indices { h.dataplane.setTargetHealth(target, healthy: false) } }
            let out = h.send(Packets.tcp(h.ipv4("app"), 40000, h.website, 80, .syn, seq: 99), from: h.port("app"), at: time)
            return (h.appliance(of: out), Tunnelled(out.bytes).options)
        }
        for allUnhealthy in [false, true] {
            let live = tunnel(at: 3.25, allUnhealthy: allUnhealthy), replayed = tunnel(at: 1_700_000_000.5, allUnhealthy: allUnhealthy)
            #expect(live.0 != nil && live.0 == replayed.0)
            #expect(live.1 != nil && live.1 == replayed.1)
        }
    }

    /// Other protocols idle 120 s; then a packet starts a new flow (a new cookie).
    @Test func udpFlowsIdleAfter120Seconds() {
        let h = Harness(yaml: inspectionYAML())
        let first = Tunnelled(Self.open(h).bytes)
        #expect(Tunnelled(Self.open(h, at: 119).bytes).options == first.options)
        // A new flow from its first datagram (another one than the first flow's): a new cookie.
        let later = Tunnelled(h.send(Packets.udp(h.ipv4("app"), 40000, h.website, 53, payload: 20), from: h.port("app"), at: 300).bytes)
        #expect(later.options != nil && later.options?.cookie != first.options?.cookie, "a new flow")
        #expect(h.dataplane.counters.sessionsExpired == 1)
    }

    @Test func aRejectedEndpointCarriesNothing() {
        let h = Harness(yaml: inspectionYAML())
        h.dataplane.setEndpointState(0, .rejected)
        #expect(Self.open(h).drop == .endpointRejected)
    }

    /// The appliances' security group must let the tunnel in from the GWLB's nodes.
    @Test func theAppliancesSecurityGroupSeesTheTunnel() {
        let h = Harness(yaml: inspectionYAML(applianceRule: "{protocol: udp, ports: 6081, cidr: 10.0.0.0/16}"))
        #expect(Self.open(h).drop == .securityGroupIngress)
    }

    /// An ICMP error about an inspected flow crosses the appliance too, and comes back to the
    /// flow's sender.
    @Test func icmpErrorsFollowTheirFlowThroughTheAppliance() {
        let h = Harness(yaml: inspectionYAML())
        let udp = Packets.udp(h.ipv4("app"), 40000, h.website, 53)
        let out = h.send(udp, from: h.port("app"))
        let appliance = h.port(h.appliance(of: out)!)
        let error = PacketBuilder.ipv4Packet(IPv4Fields(source: h.website, destination: h.ipv4("app")),
                                             .icmp(ICMPFields(type: 3, code: 3)), payload: Array(udp.prefix(28)))
        let tunnelled = h.send(error, from: h.port("igw-app"))
        #expect(tunnelled.port == appliance && Tunnelled(tunnelled.bytes).inner == error)
        let back = h.send(Tunnelled.returned(tunnelled.bytes), from: appliance)
        #expect(back.port == h.port("app") && back.bytes == error)
    }
}
