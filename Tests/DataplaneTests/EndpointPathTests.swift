import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

// Fixtures for the interface-endpoint path of the default topology, written as the spec reads:
// what is sent, from where, and what comes out (or why it does not).

@Suite("Interface endpoint to NLB to target")
struct EndpointPathTests {
    @Test func aConnectionThroughTheEndpointIsTranslatedBothWays() throws {
        let h = Harness()
        let client = h.ipv4("client-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!

        // The client's SYN to the endpoint ENI comes out of the port of the target in its zone
        // (cross-zone off), from the NLB node's address, with its MSS clamped.
        let syn = h.send(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 7, mss: 9001), from: h.port("client-a"))
        #expect(syn.port == h.port("web-a"))
        let out = Seen(syn.bytes)
        #expect(out.source == node.description && out.destination == h.ipv4("web-a").description)
        #expect(out.destinationPort == 80)
        #expect(out.sourcePort >= 10000 && out.sourcePort < 65000, "a port of the NLB's pool")
        #expect(out.mss == 8460, "clamped to the endpoint's MSS")
        #expect(out.checksumsValid)

        // The target's SYN-ACK goes back to the client, which sees the endpoint answering.
        let synAck = h.send(Packets.tcp(h.ipv4("web-a"), 80, node, out.sourcePort, [.syn, .ack], seq: 500, ack: 8, mss: 8960),
                            from: h.port("web-a"))
        #expect(synAck.port == h.port("client-a"))
        let back = Seen(synAck.bytes)
        #expect(back.source == endpoint.description && back.destination == client.description)
        #expect(back.sourcePort == 80 && back.destinationPort == 40000)
        #expect(back.mss == 8460)
        #expect(back.checksumsValid)

        // Data both ways keeps to the same target and port.
        let data = h.send(Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 8, ack: 501, payload: 100), from: h.port("client-a"))
        #expect(data.port == h.port("web-a"))
        #expect(Seen(data.bytes).sourcePort == out.sourcePort && Seen(data.bytes).checksumsValid)
        #expect(h.dataplane.counters.endpoints[0].flows == 1)
        #expect(h.dataplane.counters.endpoints[0].packets == 3)
        #expect(h.dataplane.flows.count == 1)
    }
}

extension EndpointPathTests {
    /// Opens a connection from `client` through the web endpoint in `zone`; returns the SYN's
    /// outcome and the NLB source port it got.
    static func open(_ h: Harness, client: String = "client-a", zone: String = "us-east-1a", sourcePort: UInt16 = 40000,
                     seq: UInt32 = 1000, at time: Double = 0) -> (Harness.Outcome, UInt16) {
        let endpoint = h.endpointENI("web-endpoint", zone: zone).ipv4!
        let syn = h.send(Packets.tcp(h.ipv4(client), sourcePort, endpoint, 80, .syn, seq: seq), from: h.port(client), at: time)
        return (syn, Seen(syn.bytes).sourcePort)
    }

    /// Opens a connection through the web endpoint and finishes its handshake (the target's
    /// SYN-ACK, the client's ACK), so that it is established; returns the NLB's source port.
    @discardableResult
    static func establish(_ h: Harness, client: String = "client-a", zone: String = "us-east-1a", sourcePort: UInt16 = 40000,
                          at time: Double = 0) -> UInt16 {
        let (syn, natPort) = open(h, client: client, zone: zone, sourcePort: sourcePort, at: time)
        let target = h.tables.ports[syn.port!].name
        let node = h.nodeENI("web-nlb", zone: zone).ipv4!
        let endpoint = h.endpointENI("web-endpoint", zone: zone).ipv4!
        let synAck = h.send(Packets.tcp(h.ipv4(target), 80, node, natPort, [.syn, .ack], seq: 0, ack: 1001), from: h.port(target), at: time)
        #expect(synAck.port == h.port(client))
        let ack = h.send(Packets.tcp(h.ipv4(client), sourcePort, endpoint, 80, .ack, seq: 1001, ack: 1), from: h.port(client), at: time)
        #expect(ack.port == h.port(target))
        return natPort
    }

    @Test func theProviderCannotInitiate() {
        let h = Harness()
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let syn = h.send(Packets.tcp(h.ipv4("web-a"), 80, node, 12345, .syn), from: h.port("web-a"))
        #expect(syn.drop == .providerInitiated)
        #expect(h.dataplane.counters.drops(.providerInitiated) == 1)
        #expect(h.dataplane.flows.count == 0)
    }

    @Test func aRejectedEndpointCarriesNothing() {
        let h = Harness()
        let endpoint = h.endpointENI("partner-endpoint", zone: "us-east-1a").ipv4!
        let syn = h.send(Packets.tcp(h.ipv4("partner-client"), 40000, endpoint, 80, .syn), from: h.port("partner-client"))
        #expect(syn.drop == .endpointRejected)
    }

    @Test(arguments: [(ForwardingTables.EndpointState.pendingAcceptance, DropReason.endpointPendingAcceptance),
                      (.pending, .endpointPending), (.expired, .endpointExpired), (.failed, .endpointFailed),
                      (.deleting, .endpointDeleting), (.deleted, .endpointDeleted)])
    func onlyAnAvailableEndpointCarriesTraffic(_ state: ForwardingTables.EndpointState, _ reason: DropReason) {
        let h = Harness()
        h.dataplane.setEndpointState(0, state)
        #expect(Self.open(h).0.drop == reason)
        h.dataplane.setEndpointState(0, .available)
        #expect(Self.open(h, sourcePort: 40001).0.port == h.port("web-a"))
    }

    @Test func onlyTCPReachesAnEndpoint() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let udp = h.send(Packets.udp(h.ipv4("client-a"), 5000, endpoint, 80), from: h.port("client-a"))
        #expect(udp.drop == .endpointNotTCP)
    }

    @Test func packetsOver8500BytesAreDroppedWithoutICMP() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let big = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .syn, payload: 8501 - 40), from: h.port("client-a"))
        #expect(big.drop == .endpointOversize)
        // Exactly 8500 bytes passes.
        let (open, _) = Self.open(h)
        #expect(open.port != nil)
        let fits = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, payload: 8500 - 40),
                          from: h.port("client-a"))
        #expect(fits.port == h.port("web-a"))
        let over = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, payload: 8501 - 40),
                          from: h.port("client-a"))
        #expect(over.drop == .endpointOversize, "also on an established flow")
    }

    /// A port no listener takes: the endpoint's security group judges first (the default one
    /// opens port 80 only); where the group lets it in, the NLB has no listener for it.
    @Test func noListenerOnThatPort() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let syn = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 443, .syn), from: h.port("client-a"))
        #expect(syn.drop == .securityGroupIngress)
        let open = Harness(yaml: FixtureTable.openPortsYAML)
        let past = open.send(Packets.tcp(open.ipv4("client-a"), 40000, endpoint, 443, .syn), from: open.port("client-a"))
        #expect(past.drop == .noListener && past.verdict.interface.map(open.label) == "web-endpoint us-east-1a")
        #expect(open.dataplane.flows.count == 0)
    }

    @Test func eachZoneUsesItsOwnNodeAndTargetsWithCrossZoneOff() {
        let h = Harness()
        for attempt in 0..<20 {
            let (a, _) = Self.open(h, client: "client-a", zone: "us-east-1a", sourcePort: UInt16(41000 + attempt))
            #expect(a.port == h.port("web-a"))
            #expect(Seen(a.bytes).source == h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!.description)
            let (b, _) = Self.open(h, client: "client-b", zone: "us-east-1b", sourcePort: UInt16(41000 + attempt))
            #expect(b.port == h.port("web-b"))
            #expect(Seen(b.bytes).source == h.nodeENI("web-nlb", zone: "us-east-1b").ipv4!.description)
        }
    }

    /// A non-SYN segment of a flow that idled out gets a RST from where it was sent: the endpoint
    /// ENI towards the consumer, the NLB node towards the target (docs/aws-behaviour.md §1).
    @Test func idleTimeoutResetsBothDirections() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let natPort = Self.establish(h)
        // 350 s of silence is still within the timeout; 351 s is past it.
        let kept = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 1), from: h.port("client-a"), at: 350)
        #expect(kept.port == h.port("web-a"))
        let late = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 77), from: h.port("client-a"), at: 701)
        #expect(late.port == h.port("client-a"), "the RST goes back out of the client's port")
        let rst = Seen(late.bytes)
        #expect(rst.flags == .rst && rst.sequence == 77, "RFC 9293: the RST's sequence number is the segment's ACK")
        #expect(rst.source == endpoint.description && rst.destination == h.ipv4("client-a").description)
        #expect(rst.sourcePort == 80 && rst.destinationPort == 40000 && rst.checksumsValid)
        #expect(h.dataplane.counters.resets(.noFlow) == 1)
        // From the target's side, to the NLB node, after the flow is gone.
        let fromTarget = h.send(Packets.tcp(h.ipv4("web-a"), 80, node, natPort, [.psh, .ack], seq: 9, ack: 5, payload: 10),
                                from: h.port("web-a"), at: 702)
        #expect(fromTarget.port == h.port("web-a"))
        let rst2 = Seen(fromTarget.bytes)
        #expect(rst2.flags == .rst && rst2.source == node.description && rst2.sourcePort == natPort && rst2.checksumsValid)
        // A new SYN opens a new flow.
        #expect(Self.open(h, at: 703).0.port == h.port("web-a"))
    }

    @Test func unhealthyTargetsGetNoNewFlowsAndTheirFlowsAreReset() {
        let h = Harness(yaml: crossZoneYAML)
        let (first, _) = Self.open(h, client: "client-a", zone: "us-east-1a")
        // One target per zone, and cross-zone on: either may be chosen.
        let chosen = first.port!
        let other = chosen == h.port("web-a") ? "web-b" : "web-a"
        let chosenName = chosen == h.port("web-a") ? "web-a" : "web-b"
        h.dataplane.setTargetHealth(h.target("\(chosenName):80"), healthy: false)
        // New flows avoid it.
        for attempt in 0..<20 {
            #expect(Self.open(h, sourcePort: UInt16(42000 + attempt)).0.port == h.port(other))
        }
        // Its established flow gets a RST (connection termination is on by default).
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let next = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 3), from: h.port("client-a"))
        #expect(Seen(next.bytes).flags == .rst)
        #expect(h.dataplane.counters.resets(.unhealthyTarget) == 1)
    }

    @Test func withConnectionTerminationOffEstablishedFlowsKeepGoing() {
        let h = Harness(yaml: crossZoneYAML.replacingOccurrences(of: "    port: 80\n    targets:", with: "    port: 80\n    connectionTermination: false\n    targets:"))
        let (first, _) = Self.open(h)
        let name = first.port == h.port("web-a") ? "web-a" : "web-b"
        h.dataplane.setTargetHealth(h.target("\(name):80"), healthy: false)
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let next = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 3), from: h.port("client-a"))
        #expect(next.port == first.port)
    }

    /// When every target is unhealthy, the NLB fails open and sends to all (docs/aws-behaviour.md
    /// §2).
    @Test func allUnhealthyFailsOpen() {
        let h = Harness()
        h.dataplane.setTargetHealth(h.target("web-a:80"), healthy: false)
        h.dataplane.setTargetHealth(h.target("web-b:80"), healthy: false)
        let (syn, _) = Self.open(h)
        #expect(syn.port == h.port("web-a"))
        // Failing open, the established flow is not reset.
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let next = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 3), from: h.port("client-a"))
        #expect(next.port == h.port("web-a"))
    }

    /// A zone with no registered target and cross-zone off has nothing to send to.
    @Test func anEmptyZoneHasNoTarget() {
        let h = Harness(yaml: emptyZoneYAML)
        let (syn, _) = Self.open(h, client: "client-c", zone: "us-east-1c")
        #expect(syn.drop == .noTarget)
    }

    @Test func crossZoneOnSpreadsOverEveryZonesTargets() {
        let h = Harness(yaml: crossZoneYAML)
        var seen = Set<Int>()
        for attempt in 0..<40 { seen.insert(Self.open(h, sourcePort: UInt16(43000 + attempt)).0.port ?? -1) }
        #expect(seen == [h.port("web-a"), h.port("web-b")])
    }

    /// The SYN's sequence number is part of the hash: the same 5-tuple reused with a new ISN may
    /// land elsewhere, and a retransmitted SYN (same ISN) lands where the first did.
    @Test func targetChoiceUsesTheInitialSequenceNumber() {
        var ports = Set<Int>()
        for isn in 0..<40 {
            let h = Harness(yaml: crossZoneYAML)
            ports.insert(Self.open(h, seq: UInt32(isn) &* 2_654_435_761).0.port ?? -1)
        }
        #expect(ports.count == 2)
        let a = Harness(yaml: crossZoneYAML), b = Harness(yaml: crossZoneYAML)
        #expect(Self.open(a, seq: 99).0.port == Self.open(b, seq: 99).0.port, "deterministic")
    }

    /// Established connections hold their ports: past the pool, a new one is refused.
    @Test func sourcePortsRunOutAfterThePool() {
        let h = Harness { $0.portsPerPool = 3 }
        for attempt in 0..<3 { Self.establish(h, sourcePort: UInt16(44000 + attempt)) }
        #expect(Self.open(h, sourcePort: 44010).0.drop == .portExhausted)
        #expect(h.dataplane.counters.drops(.portExhausted) == 1)
    }

    @Test func aFullFlowTableRefusesNewFlowsAndKeepsOldOnes() {
        let h = Harness { $0.flowCapacity = 4 }
        for attempt in 0..<4 { Self.establish(h, sourcePort: UInt16(45000 + attempt)) }
        #expect(Self.open(h, sourcePort: 45010).0.drop == .flowTableFull)
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let old = h.send(Packets.tcp(h.ipv4("client-a"), 45000, endpoint, 80, .ack, seq: 1001, ack: 3), from: h.port("client-a"))
        #expect(old.port == h.port("web-a"), "no established flow was evicted")
    }

    /// An `ipv6` target group behind a dualstack NLB: IPv6 end to end, from the node's IPv6
    /// address.
    @Test func ipv6ThroughADualstackEndpoint() {
        let h = Harness(yaml: ipv6TargetsYAML)
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv6!
        let syn = h.send(Packets.tcp6(h.ipv6("client-a"), 40000, endpoint, 80, .syn, mss: 9000), from: h.port("client-a"))
        #expect(syn.port == h.port("web-a"))
        let out = Seen(syn.bytes)
        #expect(out.source == node.description && out.destination == h.ipv6("web-a").description)
        #expect(out.mss == 8440 && out.checksumsValid)
        let back = h.send(Packets.tcp6(h.ipv6("web-a"), 80, node, out.sourcePort, [.syn, .ack], seq: 1, ack: 1001),
                          from: h.port("web-a"))
        #expect(back.port == h.port("client-a"))
        #expect(Seen(back.bytes).source == endpoint.description && Seen(back.bytes).checksumsValid)
        // An `ipv6` group takes IPv6 clients only.
        let v4 = h.send(Packets.tcp(h.ipv4("client-a"), 40001, h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!, 80, .syn),
                        from: h.port("client-a"))
        #expect(v4.drop == .ipv4ClientToIPv6Targets)
    }

    /// `denyAllIgwTraffic`: IPv6 from the internet gateway to an endpoint ENI is dropped, while
    /// the same address is reachable from inside the VPC (docs/aws-behaviour.md §5).
    @Test func ipv6FromTheInternetGatewayToAnEndpointIsDenied() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!
        let fromInternet = h.send(Packets.tcp6(IPv6Address("2001:db8::10")!, 5555, endpoint, 80, .syn), from: h.port("igw-consumer"))
        #expect(fromInternet.drop == .denyAllIgwTraffic)
        #expect(h.dataplane.counters.drops(.denyAllIgwTraffic) == 1)
        let fromInside = h.send(Packets.tcp6(h.ipv6("client-a"), 5555, endpoint, 80, .syn), from: h.port("client-a"))
        #expect(fromInside.port == h.port("web-a"))
    }

    /// An ICMP error from the target about a translated flow reaches the client with the outer
    /// and the quoted addresses translated back.
    @Test func icmpErrorsAreTranslatedInsideOut() {
        let h = Harness()
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let (syn, _) = Self.open(h)
        // The target quotes the header of the packet it received (node → target), RFC 792.
        let quoted = Array(syn.bytes.prefix(28))
        let error = PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("web-a"), destination: node),
                                             .icmp(ICMPFields(type: 3, code: 4, restOfHeader: 1400)), payload: quoted)
        let out = h.send(error, from: h.port("web-a"))
        #expect(out.port == h.port("client-a"))
        var bytes = out.bytes
        bytes.withUnsafeMutableBytes { buffer in
            let ip = try! IPv4Packet(buffer)
            #expect(ip.source == endpoint && ip.destination == h.ipv4("client-a"))
            #expect(ip.headerChecksumIsValid)
            let icmp = try! ICMPv4Message(ip.payload)
            #expect(icmp.checksumIsValid && icmp.nextHopMTU == 1400)
            let inner = icmp.quotedPacket!
            #expect(inner.source == h.ipv4("client-a") && inner.destination == endpoint)
            #expect(inner.headerChecksumIsValid)
            let ports = inner.payload
            #expect(UInt16(ports[0]) << 8 | UInt16(ports[1]) == 40000)
            #expect(UInt16(ports[2]) << 8 | UInt16(ports[3]) == 80)
        }
    }
}

extension EndpointPathTests {
    /// A provider can reject an endpoint that is already available (docs/aws-behaviour.md §4): its
    /// established flows stop too.
    @Test func rejectingAnAvailableEndpointStopsItsFlows() {
        let h = Harness()
        let (syn, _) = Self.open(h)
        #expect(syn.port != nil)
        h.dataplane.setEndpointState(0, .rejected)
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let next = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 1), from: h.port("client-a"))
        #expect(next.drop == .endpointRejected)
    }
}
