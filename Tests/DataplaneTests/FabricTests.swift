import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

// The VPC fabric around the endpoints: source/destination check, routes, security groups, the
// internet gateway and gateway endpoints, on the default topology.

@Suite("VPC fabric")
struct FabricTests {
    @Test func sourceDestinationCheck() {
        let h = Harness()
        let spoofed = h.send(Packets.tcp(IPv4Address(10, 20, 1, 99), 1, h.ipv4("client-b"), 22, .syn), from: h.port("client-a"))
        #expect(spoofed.drop == .sourceDestinationCheck)
    }

    /// Hosts of one VPC reach each other when security groups let them; the default group lets
    /// members of the group in, and everything out.
    @Test func deliveryBetweenHostsOfAVPC() {
        let h = Harness()
        let out = h.send(Packets.tcp(h.ipv4("client-a"), 5000, h.ipv4("client-b"), 22, .syn), from: h.port("client-a"))
        #expect(out.port == h.port("client-b"))
        #expect(Seen(out.bytes).destination == h.ipv4("client-b").description, "untranslated")
        let reply = h.send(Packets.tcp(h.ipv4("client-b"), 22, h.ipv4("client-a"), 5000, [.syn, .ack]), from: h.port("client-b"))
        #expect(reply.port == h.port("client-a"))
    }

    /// Security groups are stateful: the reply of an allowed flow passes even where no rule
    /// would let it start.
    @Test func securityGroupsAreStateful() {
        let h = Harness()
        // web-a's group lets port 80 in from the provider VPC only: web-b may connect ...
        let allowed = h.send(Packets.tcp(h.ipv4("web-b"), 6000, h.ipv4("web-a"), 80, .syn), from: h.port("web-b"))
        #expect(allowed.port == h.port("web-a"))
        // ... but not to another port.
        let denied = h.send(Packets.tcp(h.ipv4("web-b"), 6001, h.ipv4("web-a"), 22, .syn), from: h.port("web-b"))
        #expect(denied.drop == .securityGroupIngress)
        // web-a's reply to port 6000 of web-b passes though web-b's group has no rule for it.
        let reply = h.send(Packets.tcp(h.ipv4("web-a"), 80, h.ipv4("web-b"), 6000, [.syn, .ack]), from: h.port("web-a"))
        #expect(reply.port == h.port("web-b"))
    }

    @Test func noSuchAddressInTheVPC() {
        let h = Harness()
        let out = h.send(Packets.tcp(h.ipv4("client-a"), 5000, IPv4Address(10, 20, 2, 200), 22, .syn), from: h.port("client-a"))
        #expect(out.drop == .noSuchAddress)
    }

    /// The S3 prefix list's route (a /15) beats 0.0.0.0/0 to the GWLB endpoint: S3 traffic goes
    /// to the service's network, source address kept (docs/aws-behaviour.md §7).
    @Test func gatewayEndpointRouteWinsByLongestPrefix() {
        let h = Harness()
        let s3 = IPv4Address(52, 216, 10, 10)
        let out = h.send(Packets.tcp(h.ipv4("client-a"), 5000, s3, 80, .syn), from: h.port("client-a"))
        #expect(out.port == h.port("com.amazonaws.us-east-1.s3"))
        #expect(Seen(out.bytes).source == h.ipv4("client-a").description)
        // The reply from the service network returns to the client.
        let reply = h.send(Packets.tcp(s3, 80, h.ipv4("client-a"), 5000, [.syn, .ack]), from: h.port("com.amazonaws.us-east-1.s3"))
        #expect(reply.port == h.port("client-a"))
        // The service's network cannot start a flow.
        let start = h.send(Packets.tcp(s3, 80, h.ipv4("client-b"), 5001, .syn), from: h.port("com.amazonaws.us-east-1.s3"))
        #expect(start.drop == .serviceCannotInitiate)
    }

    /// The prefix-list route loses to a more specific CIDR route, and to an explicit route with
    /// exactly the same prefix (docs/aws-behaviour.md §7); the rest of the list still wins.
    @Test func explicitRoutesBeatTheGatewayEndpointRoute() {
        let yaml = Topology.defaultYAML.replacingOccurrences(of: """
                  - {destination: 0.0.0.0/0, target: inspection-endpoint}
                  - {destination: "::/0", target: internetGateway}
            """, with: """
                  - {destination: 0.0.0.0/0, target: inspection-endpoint}
                  - {destination: "::/0", target: internetGateway}
                  - {destination: 52.216.10.0/24, target: internetGateway}
                  - {destination: 54.231.0.0/16, target: internetGateway}
            """)
        #expect(yaml != Topology.defaultYAML, "the default topology's consumer-app routes moved")
        let h = Harness(yaml: yaml)
        func egress(_ address: IPv4Address) -> Int? {
            h.send(Packets.tcp(h.ipv4("client-a"), 5000, address, 80, .syn), from: h.port("client-a")).port
        }
        #expect(egress(IPv4Address(52, 216, 10, 10)) == h.port("igw-consumer"), "a /24 beats the list's /15")
        #expect(egress(IPv4Address(54, 231, 1, 1)) == h.port("igw-consumer"), "the same /16 as the list: the explicit route wins")
        #expect(egress(IPv4Address(52, 217, 0, 1)) == h.port("com.amazonaws.us-east-1.s3"), "the rest of the /15 still goes to S3")
    }

    /// A subnet whose route table is not associated with the gateway endpoint goes its other way:
    /// the partner VPC has no route at all for S3.
    @Test func unassociatedSubnetHasNoRouteToS3() {
        let h = Harness()
        let out = h.send(Packets.tcp(h.ipv4("partner-client"), 5000, IPv4Address(52, 216, 10, 10), 80, .syn), from: h.port("partner-client"))
        #expect(out.drop == .noRoute)
    }

    @Test func internetTrafficFollowsTheRouteTable() {
        let h = Harness()
        // IPv4 to the internet goes to the GWLB endpoint, and so to the appliance of its zone.
        let v4 = h.send(Packets.tcp(h.ipv4("client-a"), 5000, IPv4Address(198, 51, 100, 10), 80, .syn), from: h.port("client-a"))
        #expect(v4.port == h.port("appliance-a"))
        // IPv6 goes straight to the internet gateway, and the reply comes back in.
        let internet = IPv6Address("2001:db8::10")!
        let v6 = h.send(Packets.tcp6(h.ipv6("client-a"), 5000, internet, 80, .syn), from: h.port("client-a"))
        #expect(v6.port == h.port("igw-consumer"))
        let reply = h.send(Packets.tcp6(internet, 80, h.ipv6("client-a"), 5000, [.syn, .ack]), from: h.port("igw-consumer"))
        #expect(reply.port == h.port("client-a"))
        // An unsolicited connection from the internet meets the client's default group.
        let unsolicited = h.send(Packets.tcp6(internet, 81, h.ipv6("client-a"), 22, .syn), from: h.port("igw-consumer"))
        #expect(unsolicited.drop == .securityGroupIngress)
    }

    @Test func noRouteOutOfAVPCWithoutOne() {
        let h = Harness()
        let out = h.send(Packets.tcp(h.ipv4("web-a"), 5000, IPv4Address(8, 8, 8, 8), 53, .syn), from: h.port("web-a"))
        #expect(out.drop == .noRoute)
    }

    @Test func icmpEchoIsTrackedLikeAFlow() {
        let h = Harness()
        let request = PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("client-a"), destination: h.ipv4("client-b")),
                                               .icmp(.echo(request: true, v6: false, identifier: 9, sequence: 1)))
        #expect(h.send(request, from: h.port("client-a")).port == h.port("client-b"))
        let reply = PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("client-b"), destination: h.ipv4("client-a")),
                                             .icmp(.echo(request: false, v6: false, identifier: 9, sequence: 1)))
        #expect(h.send(reply, from: h.port("client-b")).port == h.port("client-a"))
        #expect(h.dataplane.flows.count == 1)
    }

    @Test func malformedAndUnknownPorts() {
        let h = Harness()
        #expect(h.send([0x45, 0, 0], from: h.port("client-a")).drop == .malformed)
        #expect(h.send(Packets.udp(h.ipv4("client-a"), 1, h.ipv4("client-b"), 2), from: 999).drop == .unknownPort)
    }
}
