import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

// Packets a router would not forward (RFC 1812, RFC 5095, RFC 8200): each is dropped with its own
// counted reason before it can take a session or a NAT port. Every case is a SYN from client-a to
// the web endpoint's ENI in its zone (which would otherwise open a translated flow), changed in
// one way that the case's description names.

@Suite("Packets a router would not forward")
struct RouterDropTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let description: String
        /// What the SYN becomes.
        let change: @Sendable (Harness) -> [UInt8]
        let expected: DropReason?

        var testDescription: String { description }
    }

    static func syn(_ h: Harness, options: [UInt8] = []) -> [UInt8] {
        var ip = IPv4Fields(source: h.ipv4("client-a"), destination: h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!)
        ip.options = options
        var tcp = TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)
        tcp.sequenceNumber = 1000
        return PacketBuilder.ipv4Packet(ip, .tcp(tcp))
    }

    static func syn6(_ h: Harness, _ extensions: [IPv6ExtensionHeader]) -> [UInt8] {
        var ip = IPv6Fields(source: h.ipv6("client-a"), destination: h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!)
        ip.extensionHeaders = extensions
        return PacketBuilder.ipv6Packet(ip, .tcp(TCPFields(sourcePort: 40000, destinationPort: 80, flags: .syn)))
    }

    static let cases: [Case] = [
        Case(description: "a sound IPv4 SYN opens the flow", change: { syn($0) }, expected: nil),
        Case(description: "the IPv4 header checksum off by one", change: { h in
            var bytes = syn(h)
            bytes[11] &+= 1
            return bytes
        }, expected: .badIPChecksum),
        // Loose source route (131): length 7, pointer 4, one address; then End of Options.
        Case(description: "a loose source route option", change: { syn($0, options: [131, 7, 4, 192, 0, 2, 1, 0]) },
             expected: .sourceRoute),
        Case(description: "a strict source route option", change: { syn($0, options: [137, 7, 4, 192, 0, 2, 1, 0]) },
             expected: .sourceRoute),
        Case(description: "an option whose length is 0", change: { syn($0, options: [7, 0, 0, 0]) }, expected: .malformedIPOptions),
        Case(description: "an option that runs past the header", change: { syn($0, options: [1, 7, 40, 4]) },
             expected: .malformedIPOptions),
        // No-ops and a record route (type 7, length 7, pointer 4, room for one address).
        Case(description: "sound options (no-ops, record route) pass", change: { syn($0, options: [1, 1, 7, 7, 4, 0, 0, 0, 0, 0, 0, 0]) },
             expected: nil),
        Case(description: "an IPv6 routing header of type 0 with a segment left", change: { h in
            syn6(h, [.routing(type: 0, segmentsLeft: 1, addresses: [h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!])])
        }, expected: .deprecatedRoutingHeader),
        Case(description: "an IPv6 routing header of type 0 with no segment left", change: { h in
            syn6(h, [.routing(type: 0, segmentsLeft: 0, addresses: [h.ipv6("client-b")])])
        }, expected: .deprecatedRoutingHeader),
        Case(description: "a fragment header inside an atomic fragment", change: { h in
            syn6(h, [.fragment(offset: 0, moreFragments: false, identification: 1), .fragment(offset: 0, moreFragments: false, identification: 2)])
        }, expected: .fragmentChain),
        Case(description: "one atomic fragment header (RFC 6946) passes", change: { h in
            syn6(h, [.fragment(offset: 0, moreFragments: false, identification: 1)])
        }, expected: nil),
    ]

    @Test(arguments: cases)
    func dropsWithItsOwnReason(_ check: Case) {
        let h = Harness()
        let out = h.send(check.change(h), from: h.port("client-a"))
        if let reason = check.expected {
            #expect(out.drop == reason)
            #expect(h.dataplane.counters.drops(reason) == 1)
            #expect(h.dataplane.flows.count == 0, "no session")
        } else {
            #expect(out.port == h.port("web-a"))
            #expect(h.dataplane.flows.count == 1)
        }
    }

    /// An ICMP error about a flow the fabric never saw (a host answering a stray packet, an
    /// appliance quoting a flow the GWLB never sent it) has its own reason, apart from stray
    /// packets with no session.
    @Test func icmpErrorAboutAnUnknownFlow() {
        let h = Harness()
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let quoted = Array(Packets.tcp(node, 12345, h.ipv4("web-a"), 80, .syn).prefix(28))
        let error = PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("web-a"), destination: node),
                                             .icmp(ICMPFields(type: 3, code: 3, restOfHeader: 0)), payload: quoted)
        #expect(h.send(error, from: h.port("web-a")).drop == .icmpErrorUnknownFlow)
        // A quote too short to name a flow is malformed.
        let cut = PacketBuilder.ipv4Packet(IPv4Fields(source: h.ipv4("web-a"), destination: node),
                                           .icmp(ICMPFields(type: 3, code: 3, restOfHeader: 0)), payload: Array(quoted.prefix(12)))
        #expect(h.send(cut, from: h.port("web-a")).drop == .malformed)
        #expect(h.dataplane.counters.drops(.noSession) == 0)
    }

    /// From an appliance, GENEVE around an ICMP error that quotes a flow the GWLB never sent.
    @Test func applianceICMPErrorAboutAnUnknownFlow() {
        let h = Harness(yaml: inspectionYAML())
        let out = GatewayLoadBalancerTests.open(h)
        let appliance = h.appliance(of: out)!
        let quoted = Array(Packets.tcp(h.ipv4("app"), 40001, h.website, 80, .syn).prefix(28))
        let inner = PacketBuilder.ipv4Packet(IPv4Fields(source: h.website, destination: h.ipv4("app")),
                                             .icmp(ICMPFields(type: 3, code: 1, restOfHeader: 0)), payload: quoted)
        // The flow's own tunnel header (options, cookie), around the error instead of the flow's
        // packet: outer lengths and checksum made to fit.
        var returned = Tunnelled.returned(Array(out.bytes.prefix(GWLBTunnel.overhead))) + inner
        let total = UInt16(returned.count), udp = total - 20
        returned[2] = UInt8(total >> 8)
        returned[3] = UInt8(total & 0xFF)
        returned[24] = UInt8(udp >> 8)
        returned[25] = UInt8(udp & 0xFF)
        returned.withUnsafeMutableBytes { try? IPv4Packet($0).updateHeaderChecksum() }
        #expect(h.send(returned, from: h.port(appliance)).drop == .icmpErrorUnknownFlow)
        // The same around the flow's own packet still comes back.
        #expect(h.send(Tunnelled.returned(out.bytes), from: h.port(appliance)).port != nil)
    }
}
