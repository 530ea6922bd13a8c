import Dataplane
import PacketWire
import Topology

/// The dataplane's specification as a table: at least one row for every way a packet is carried
/// (forwarded, translated, tunnelled, answered, handed over) and for every reason it is dropped.
/// Unless a row says otherwise it runs in the default topology (`privet describe --default`),
/// where client-a and client-b consume web-service through web-endpoint, web-a and web-b are its
/// targets behind web-nlb, client-a's internet traffic goes through the GWLB endpoint to
/// appliance-a, and S3 is reached through a gateway endpoint.
public enum FixtureTable {
    // MARK: Addresses of the default topology

    static func clientA(_ h: Harness) -> IPv4Address { h.ipv4("client-a") }
    static func endpointA(_ h: Harness) -> IPv4Address { h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4! }
    static func endpointA6(_ h: Harness) -> IPv6Address { h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6! }
    static func nodeA(_ h: Harness) -> IPv4Address { h.nodeENI("web-nlb", zone: "us-east-1a").ipv4! }
    static let internetServer = IPv4Address(198, 51, 100, 10)
    static let internetServer6 = IPv6Address("2001:db8::10")!
    static let s3 = IPv4Address(52, 216, 10, 10)

    /// client-a's SYN to the web endpoint in its zone, from `port`.
    static func syn(_ h: Harness, port: UInt16 = 40000, to destinationPort: UInt16 = 80, payload: Int = 0) -> [UInt8] {
        Packets.tcp(clientA(h), port, endpointA(h), destinationPort, .syn, seq: 1000, payload: payload)
    }

    /// The answer to a packet as it came out: addresses and ports swapped, `flags`, the next
    /// sequence numbers of a handshake.
    public static func answer(_ outcome: Harness.Outcome, _ flags: TCPFlags, payload: Int = 0) -> [UInt8] {
        let seen = Seen(outcome.bytes)
        if seen.source.contains(":") {
            return Packets.tcp6(IPv6Address(seen.destination)!, seen.destinationPort, IPv6Address(seen.source)!, seen.sourcePort,
                                flags, seq: 5000, ack: seen.sequence &+ 1, payload: payload)
        }
        return Packets.tcp(IPv4Address(seen.destination)!, seen.destinationPort, IPv4Address(seen.source)!, seen.sourcePort,
                           flags, seq: 5000, ack: seen.sequence &+ 1, payload: payload)
    }

    /// client-a's connection through the web endpoint from `port`, opened with a full handshake.
    static func handshake(port: UInt16 = 40000) -> [Fixture.Step] {
        [.send(from: "client-a") { h, _ in syn(h, port: port) },
         .send(from: "web-a") { _, out in answer(out[out.count - 1], [.syn, .ack]) },
         .send(from: "client-a") { h, _ in Packets.tcp(clientA(h), port, endpointA(h), 80, .ack, seq: 1001, ack: 5001) }]
    }

    /// The first packet of client-a's flow to the internet server, tunnelled to an appliance.
    static let toInternet: [Fixture.Step] = [.send(from: "client-a") { h, _ in Packets.tcp(clientA(h), 41000, internetServer, 80, .syn) }]

    /// IPv4 bytes with their header checksum made right again after an edit.
    static func resummed(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        copy.withUnsafeMutableBytes { try? IPv4Packet($0).updateHeaderChecksum() }
        return copy
    }

    /// The default topology with the web service's security groups open to every TCP port, so
    /// that what a port without a listener meets is the listener check, not the group.
    public static let openPortsYAML = Topology.defaultYAML
        .replacingOccurrences(of: "{protocol: tcp, ports: 80, cidr: 10.20.0.0/16}", with: "{protocol: tcp, cidr: 10.20.0.0/16}")

    /// The default topology with web's security group letting out only HTTPS.
    static let httpsOutOnlyYAML = Topology.defaultYAML
        .replacingOccurrences(of: "  - name: web\n    vpc: provider\n    ingress:",
                              with: "  - name: web\n    vpc: provider\n    egress:\n      - {protocol: tcp, ports: 443, cidr: 0.0.0.0/0}\n    ingress:")

    /// The default topology with the web NLB in zone a only.
    static let oneZoneNLBYAML = Topology.defaultYAML
        .replacingOccurrences(of: "subnets: [provider-a, provider-b, provider-c]", with: "subnets: [provider-a]")

    /// The default topology with client-a's traffic to the web endpoint's ENI in zone b sent
    /// through the GWLB endpoint (a route more specific than the VPC's local one).
    static let chainYAML = Topology.defaultYAML
        .replacingOccurrences(of: "      - {destination: \"::/0\", target: internetGateway}\n  - name: consumer-inspection",
                              with: "      - {destination: \"::/0\", target: internetGateway}\n      - {destination: 10.20.2.5/32, target: inspection-endpoint}\n  - name: consumer-inspection")

    // MARK: The rows

    public static let rows: [Fixture] = carried + routerDrops + fabricDrops + endpointDrops + loadBalancerDrops + gatewayDrops

    /// Every way a packet is carried.
    static let carried: [Fixture] = [
        Fixture("a consumer's SYN through the interface endpoint reaches its zone's target from the NLB node",
                from: "client-a", packet: { h, _ in syn(h) }, expect: .forwarded("web-a"),
                output: .init(source: "10.10.1.5", sourcePort: nil, destination: "10.10.1.4", destinationPort: 80, flags: .syn)),
        Fixture("the target's SYN-ACK goes back to the consumer from the endpoint's address",
                before: [.send(from: "client-a") { h, _ in syn(h) }],
                from: "web-a", packet: { _, out in answer(out[0], [.syn, .ack]) }, expect: .forwarded("client-a"),
                output: .init(source: "10.20.1.5", sourcePort: 80, destination: "10.20.1.4", destinationPort: 40000, flags: [.syn, .ack])),
        Fixture("an IPv6 consumer reaches the IPv4 target, translated (RFC 7915)",
                from: "client-a", packet: { h, _ in Packets.tcp6(h.ipv6("client-a"), 40000, endpointA6(h), 80, .syn) },
                expect: .forwarded("web-a"),
                output: .init(source: "10.10.1.5", sourcePort: nil, destination: "10.10.1.4", destinationPort: 80, flags: .syn)),
        Fixture("a host reaches another in its VPC as it sent it",
                from: "web-b", packet: { h, _ in Packets.tcp(h.ipv4("web-b"), 40000, h.ipv4("web-a"), 80, .syn) },
                expect: .forwarded("web-a"),
                output: .init(source: "10.10.2.4", sourcePort: 40000, destination: "10.10.1.4", destinationPort: 80, flags: .syn)),
        Fixture("a host of the NLB's VPC reaches a listener at a node's address (an internal NLB)",
                from: "web-b", packet: { h, _ in Packets.tcp(h.ipv4("web-b"), 40000, nodeA(h), 80, .syn) }, expect: .forwarded("web-a")),
        Fixture("internet traffic of the app subnet goes to the zone's appliance in GENEVE",
                before: [], from: "client-a", packet: { h, _ in Packets.tcp(clientA(h), 41000, internetServer, 80, .syn) },
                expect: .encapsulated("appliance-a")),
        Fixture("back from the appliance, the packet goes on to the internet gateway as it was sent",
                before: toInternet, from: "appliance-a", packet: { _, out in Tunnelled.returned(out[0].bytes) },
                expect: .decapsulated("igw-consumer"),
                output: .init(source: "10.20.1.4", sourcePort: 41000, destination: "198.51.100.10", destinationPort: 80, flags: .syn)),
        Fixture("S3 is reached through the gateway endpoint, the source kept",
                from: "client-a", packet: { h, _ in Packets.tcp(clientA(h), 40000, s3, 80, .syn) },
                expect: .forwarded("com.amazonaws.us-east-1.s3"),
                output: .init(source: "10.20.1.4", sourcePort: 40000, destination: "52.216.10.10", destinationPort: 80, flags: .syn)),
        Fixture("IPv6 to the internet leaves by the internet gateway",
                from: "client-a", packet: { h, _ in Packets.tcp6(h.ipv6("client-a"), 40000, internetServer6, 80, .syn) },
                expect: .forwarded("igw-consumer")),
        Fixture("a DNS query to the VPC's base address + 2 goes to its resolver",
                from: "client-a", packet: { h, _ in
                    PacketBuilder.ipv4Packet(IPv4Fields(source: clientA(h), destination: IPv4Address(10, 20, 0, 2)),
                                             .udp(UDPFields(sourcePort: 5353, destinationPort: 53)),
                                             payload: DNSMessage.query(id: 7, name: "api.privet.example", type: DNSRecordCode.a))
                }, expect: .toResolver),
        Fixture("a target's answer to a health probe goes to the health checker",
                before: [.send(from: "health-checks") { h, _ in Packets.tcp(nodeA(h), 33000, h.ipv4("web-a"), 80, .syn) }],
                from: "web-a", packet: { h, _ in Packets.tcp(h.ipv4("web-a"), 80, nodeA(h), 33000, [.syn, .ack], ack: 1001) },
                expect: .toHealthChecker),
        Fixture("a segment of a flow the endpoint does not know is answered with a RST",
                from: "client-a", packet: { h, _ in Packets.tcp(clientA(h), 40000, endpointA(h), 80, .ack, seq: 7, ack: 9) },
                expect: .replied(.noFlow),
                output: .init(source: "10.20.1.5", sourcePort: 80, destination: "10.20.1.4", destinationPort: 40000, flags: .rst)),
    ]

    /// What a router would not forward (RFC 1812, RFC 5095, RFC 8200).
    static let routerDrops: [Fixture] = [
        Fixture("a packet cut inside its IPv4 header", from: "client-a", packet: { h, _ in Array(syn(h).prefix(12)) },
                expect: .dropped(.malformed, at: nil)),
        Fixture("a fragment (more fragments set)", from: "client-a", packet: { h, _ in
            var bytes = Packets.udp(clientA(h), 5000, h.ipv4("client-b"), 53)
            bytes[6] = 0x20
            return resummed(bytes)
        }, expect: .dropped(.fragment, at: nil)),
        Fixture("an IPv4 header checksum off by one", from: "client-a", packet: { h, _ in
            var bytes = syn(h)
            bytes[11] &+= 1
            return bytes
        }, expect: .dropped(.badIPChecksum, at: nil)),
        Fixture("a loose source route option", from: "client-a", packet: { h, _ in
            var ip = IPv4Fields(source: clientA(h), destination: endpointA(h))
            ip.options = [131, 7, 4, 192, 0, 2, 1, 0]
            return PacketBuilder.ipv4Packet(ip, .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)))
        }, expect: .dropped(.sourceRoute, at: nil)),
        Fixture("an IPv4 option of length 0", from: "client-a", packet: { h, _ in
            var ip = IPv4Fields(source: clientA(h), destination: endpointA(h))
            ip.options = [7, 0, 0, 0]
            return PacketBuilder.ipv4Packet(ip, .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)))
        }, expect: .dropped(.malformedIPOptions, at: nil)),
        Fixture("an IPv6 routing header of type 0", from: "client-a", packet: { h, _ in
            var ip = IPv6Fields(source: h.ipv6("client-a"), destination: endpointA6(h))
            ip.extensionHeaders = [.routing(type: 0, segmentsLeft: 1, addresses: [endpointA6(h)])]
            return PacketBuilder.ipv6Packet(ip, .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)))
        }, expect: .dropped(.deprecatedRoutingHeader, at: nil)),
        Fixture("an IPv6 fragment header inside another", from: "client-a", packet: { h, _ in
            var ip = IPv6Fields(source: h.ipv6("client-a"), destination: endpointA6(h))
            ip.extensionHeaders = [.fragment(offset: 0, moreFragments: false, identification: 1),
                                   .fragment(offset: 0, moreFragments: false, identification: 2)]
            return PacketBuilder.ipv6Packet(ip, .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)))
        }, expect: .dropped(.fragmentChain, at: nil)),
        Fixture("an ICMP error about a flow never seen", from: "web-a", packet: { h, _ in
            let quoted = Array(Packets.tcp(nodeA(h), 12345, h.ipv4("web-a"), 80, .syn).prefix(28))
            return PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("web-a"), destination: nodeA(h)),
                                            .icmp(ICMPFields(type: 3, code: 3, restOfHeader: 0)), payload: quoted)
        }, expect: .dropped(.icmpErrorUnknownFlow, at: nil)),
        Fixture("a packet entering by a port that only answers (a VPC resolver's)", from: "resolver-consumer", packet: { h, _ in
            Packets.udp(IPv4Address(10, 20, 0, 2), 53, clientA(h), 5353)
        }, expect: .dropped(.unknownPort, at: nil)),
    ]

    /// The VPC fabric: addresses, routes, security groups, the internet gateway, the resolver.
    static let fabricDrops: [Fixture] = [
        Fixture("a host sends from an address that is not its own", from: "client-a", packet: { h, _ in
            Packets.tcp(IPv4Address(10, 20, 1, 99), 40000, endpointA(h), 80, .syn)
        }, expect: .dropped(.sourceDestinationCheck, at: "client-a")),
        Fixture("a VPC with no route to the internet", from: "partner-client", packet: { h, _ in
            Packets.tcp(h.ipv4("partner-client"), 40000, internetServer, 80, .syn)
        }, expect: .dropped(.noRoute, at: "partner-client")),
        Fixture("a local address no ENI owns", from: "client-a", packet: { h, _ in
            Packets.tcp(clientA(h), 40000, IPv4Address(10, 20, 1, 200), 80, .syn)
        }, expect: .dropped(.noSuchAddress, at: nil)),
        Fixture("the sender's security group lets the flow out only to HTTPS", yaml: httpsOutOnlyYAML, from: "web-b", packet: { h, _ in
            Packets.tcp(h.ipv4("web-b"), 40000, h.ipv4("web-a"), 80, .syn)
        }, expect: .dropped(.securityGroupEgress, at: "web-b")),
        Fixture("the endpoint's security group lets in port 80 only", from: "client-a", packet: { h, _ in syn(h, to: 443) },
                expect: .dropped(.securityGroupIngress, at: "web-endpoint us-east-1a")),
        Fixture("a flow started from an AWS service's network", from: "com.amazonaws.us-east-1.s3", packet: { h, _ in
            Packets.tcp(s3, 80, clientA(h), 40000, .syn)
        }, expect: .dropped(.serviceCannotInitiate, at: "client-a")),
        Fixture("IPv6 from the internet to an endpoint's ENI (denyAllIgwTraffic)", from: "igw-consumer", packet: { h, _ in
            Packets.tcp6(internetServer6, 40000, endpointA6(h), 80, .syn)
        }, expect: .dropped(.denyAllIgwTraffic, at: "web-endpoint us-east-1a")),
        Fixture("DNS over TCP to the VPC resolver", from: "client-a", packet: { h, _ in
            Packets.tcp(clientA(h), 40000, IPv4Address(10, 20, 0, 2), 53, .syn)
        }, expect: .dropped(.resolverNotUDP, at: "client-a")),
        Fixture("a full flow table refuses a new flow and keeps the established one",
                configure: { $0.flowCapacity = 3 }, before: handshake() + handshake(port: 40001) + handshake(port: 40002),
                from: "client-a", packet: { h, _ in syn(h, port: 40010) }, expect: .dropped(.flowTableFull, at: nil)),
    ]

    /// The interface endpoint's states and limits.
    static let endpointDrops: [Fixture] = {
        let states: [(ForwardingTables.EndpointState, DropReason)] = [
            (.pendingAcceptance, .endpointPendingAcceptance), (.pending, .endpointPending), (.expired, .endpointExpired),
            (.failed, .endpointFailed), (.deleting, .endpointDeleting), (.deleted, .endpointDeleted)]
        return states.map { state, reason in
            Fixture("an endpoint \(state) carries nothing", before: [.endpointState(0, state)], from: "client-a",
                    packet: { h, _ in syn(h) }, expect: .dropped(reason, at: "web-endpoint us-east-1a"))
        } + [
            Fixture("an endpoint the provider rejected", from: "partner-client", packet: { h, _ in
                Packets.tcp(h.ipv4("partner-client"), 40000, h.endpointENI("partner-endpoint", zone: "us-east-1a").ipv4!, 80, .syn)
            }, expect: .dropped(.endpointRejected, at: "partner-endpoint us-east-1a")),
            Fixture("UDP to an interface endpoint", from: "client-a", packet: { h, _ in Packets.udp(clientA(h), 5000, endpointA(h), 80) },
                    expect: .dropped(.endpointNotTCP, at: "web-endpoint us-east-1a")),
            Fixture("a packet over the endpoint's 8500 bytes", from: "client-a", packet: { h, _ in syn(h, payload: 8500) },
                    expect: .dropped(.endpointOversize, at: "web-endpoint us-east-1a")),
            Fixture("a stray RST to the endpoint gets no answer", from: "client-a", packet: { h, _ in
                Packets.tcp(clientA(h), 40000, endpointA(h), 80, .rst, seq: 7)
            }, expect: .dropped(.noSession, at: "web-endpoint us-east-1a")),
        ]
    }()

    /// The NLB behind the endpoint, and the NLB reached from its own VPC.
    static let loadBalancerDrops: [Fixture] = [
        Fixture("an endpoint ENI in a zone where the service's NLB has no node", yaml: oneZoneNLBYAML, from: "client-b", packet: { h, _ in
            Packets.tcp(h.ipv4("client-b"), 40000, h.endpointENI("web-endpoint", zone: "us-east-1b").ipv4!, 80, .syn)
        }, expect: .dropped(.noLoadBalancerNode, at: "web-endpoint us-east-1b")),
        Fixture("a port no listener takes", yaml: openPortsYAML, from: "client-a", packet: { h, _ in syn(h, to: 443) },
                expect: .dropped(.noListener, at: "web-endpoint us-east-1a")),
        Fixture("a zone with no target, cross-zone off", yaml: emptyZoneYAML, from: "client-c", packet: { h, _ in
            Packets.tcp(h.ipv4("client-c"), 40000, h.endpointENI("web-endpoint", zone: "us-east-1c").ipv4!, 80, .syn)
        }, expect: .dropped(.noTarget, at: "web-nlb us-east-1c")),
        Fixture("an IPv4 client of a group of IPv6 targets", yaml: ipv6TargetsYAML, from: "client-a", packet: { h, _ in syn(h) },
                expect: .dropped(.ipv4ClientToIPv6Targets, at: "web-nlb us-east-1a")),
        Fixture("the provider starts a connection to an NLB address that is no listener's", from: "web-a", packet: { h, _ in
            Packets.tcp(h.ipv4("web-a"), 80, nodeA(h), 10000, .syn)
        }, expect: .dropped(.providerInitiated, at: "web-nlb us-east-1a")),
        Fixture("a target reaches itself through its NLB with its own address preserved", yaml: internalNLBYAML(),
                from: "web-a", packet: { h, _ in Packets.tcp(h.ipv4("web-a"), 40000, h.nodeENI("internal", zone: "us-east-1a").ipv4!, 80, .syn) },
                expect: .dropped(.loadBalancerHairpin, at: "internal us-east-1a")),
        Fixture("a client's preserved address and port already in a flow with the target", yaml: internalNLBYAML(),
                before: [.send(from: "app") { h, _ in Packets.tcp(h.ipv4("app"), 40000, h.ipv4("web-a"), 80, .syn) }],
                from: "app", packet: { h, _ in Packets.tcp(h.ipv4("app"), 40000, h.nodeENI("internal", zone: "us-east-1a").ipv4!, 80, .syn) },
                expect: .dropped(.targetTupleInUse, at: "web-a")),
        Fixture("every source port towards the target in use", configure: { $0.portsPerPool = 1 }, before: handshake(),
                from: "client-a", packet: { h, _ in syn(h, port: 40001) }, expect: .dropped(.portExhausted, at: "web-nlb us-east-1a")),
        Fixture("a reply to an IPv6 consumer with no room to grow into IPv6",
                before: [.send(from: "client-a") { h, _ in Packets.tcp6(h.ipv6("client-a"), 40000, endpointA6(h), 80, .syn) }],
                from: "web-a", tight: true, packet: { _, out in answer(out[0], [.syn, .ack]) },
                expect: .dropped(.noRoomToTranslate, at: nil)),
        Fixture("an ICMPv6 parameter problem has no IPv4 counterpart (RFC 7915)",
                before: [.send(from: "client-a") { h, _ in Packets.tcp6(h.ipv6("client-a"), 40000, endpointA6(h), 80, .syn) },
                         .send(from: "web-a") { _, out in answer(out[0], [.syn, .ack]) }],
                from: "client-a", packet: { h, out in
                    PacketBuilder.ipv6Packet(IPv6Fields(source: h.ipv6("client-a"), destination: endpointA6(h)),
                                             .icmp(ICMPFields(type: 4, code: 0, restOfHeader: 8)), payload: Array(out[1].bytes.prefix(48)))
                }, expect: .dropped(.icmpUntranslatable, at: nil)),
        Fixture("a client's first data with no room for the Proxy Protocol header", yaml: proxyProtocolYAML, before: handshake(),
                from: "client-a", tight: true, packet: { h, _ in
                    Packets.tcp(clientA(h), 40000, endpointA(h), 80, [.ack, .psh], seq: 1001, ack: 5001, payload: 16)
                }, expect: .dropped(.proxyHeaderNoRoom, at: nil)),
    ]

    /// The GWLB endpoint, its node and its appliances (docs/aws-behaviour.md §6).
    static let gatewayDrops: [Fixture] = [
        Fixture("an inner packet over the GWLB's 8500 bytes", from: "client-a", packet: { h, _ in
            Packets.tcp(clientA(h), 41000, internetServer, 80, .syn, payload: 8500)
        }, expect: .dropped(.gatewayOversize, at: "inspection-endpoint us-east-1a")),
        Fixture("a TCP segment of no flow the GWLB knows", from: "client-a", packet: { h, _ in
            Packets.tcp(clientA(h), 41000, internetServer, 80, .ack, seq: 7, ack: 9)
        }, expect: .dropped(.gatewayNoFlow, at: "inspection-endpoint us-east-1a")),
        Fixture("no room in the buffer for the GENEVE headers", from: "client-a", tight: true, packet: { h, _ in
            Packets.tcp(clientA(h), 41000, internetServer, 80, .syn)
        }, expect: .dropped(.noRoomToEncapsulate, at: nil)),
        Fixture("after the appliance, the endpoint's subnet routes the packet to an interface endpoint", yaml: chainYAML,
                from: "client-a", packet: { h, _ in
                    Packets.tcp(clientA(h), 40000, h.endpointENI("web-endpoint", zone: "us-east-1b").ipv4!, 80, .syn)
                }, expect: .dropped(.gatewayChain, at: "inspection-endpoint us-east-1a")),
        Fixture("an appliance sends a flow the GWLB never sent it", before: toInternet, from: "appliance-a", packet: { _, out in
            var other = Tunnelled.returned(out[0].bytes)
            other[68 + 21] ^= 0x01
            return other
        }, expect: .dropped(.applianceInitiated, at: "inspection-gwlb us-east-1a")),
        Fixture("UDP to the GWLB node's 6081 that is no GENEVE", from: "appliance-a", packet: { h, _ in
            Packets.udp(h.ipv4("appliance-a"), 6081, h.nodeENI("inspection-gwlb", zone: "us-east-1a").ipv4!, 6081, payload: 16)
        }, expect: .dropped(.gatewayBadTunnel, at: nil)),
        Fixture("an appliance alters the flow's GENEVE options", before: toInternet, from: "appliance-a", packet: { _, out in
            var altered = Tunnelled.returned(out[0].bytes)
            altered[67] ^= 1
            return altered
        }, expect: .dropped(.gatewayOptionsAltered, at: nil)),
        Fixture("another appliance returns a flow that is not its own", before: toInternet, from: "appliance-b", packet: { h, out in
            var spoofed = Tunnelled.returned(out[0].bytes)
            let address = h.ipv4("appliance-b").value
            for index in 0..<4 { spoofed[12 + index] = UInt8(truncatingIfNeeded: address >> (24 - 8 * UInt32(index))) }
            return resummed(spoofed)
        }, expect: .dropped(.gatewayWrongAppliance, at: nil)),
    ]
}
