import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology


/// A client of an internal NLB in its own VPC (docs/aws-behaviour.md §2, §3): load-balanced like
/// any client; the target sees the client's own address when its group preserves it (instance
/// targets, UDP), the node's otherwise (IP targets over TCP); a target reaching itself through
/// its NLB with its address preserved fails (AWS's hairpin limit).
@Suite("Internal NLB from its own VPC")
struct InternalLoadBalancerTests {
    @Test func instanceTargetsSeeTheClientsOwnAddress() {
        let h = Harness(yaml: internalNLBYAML())
        let node = h.nodeENI("internal", zone: "us-east-1a").ipv4!
        let syn = h.send(Packets.tcp(h.ipv4("app"), 40000, node, 80, .syn, seq: 7), from: h.port("app"))
        #expect(syn.port == h.port("web-a"), "cross-zone off: the node of zone a sends to zone a's target")
        let out = Seen(syn.bytes)
        #expect(out.source == h.ipv4("app").description && out.sourcePort == 40000, "client IP preserved")
        #expect(out.destination == h.ipv4("web-a").description && out.destinationPort == 80 && out.checksumsValid)
        #expect(out.mss == nil, "no endpoint: no clamp")
        let reply = h.send(Packets.tcp(h.ipv4("web-a"), 80, h.ipv4("app"), 40000, [.syn, .ack], seq: 9, ack: 8), from: h.port("web-a"))
        #expect(reply.port == h.port("app"))
        let back = Seen(reply.bytes)
        #expect(back.source == node.description && back.sourcePort == 80 && back.destination == h.ipv4("app").description)
        #expect(back.checksumsValid)
        #expect(h.dataplane.counters.targets[h.target("web-a:80")].flows == 1)
    }

    @Test func ipTargetsOverTCPSeeTheNode() {
        let h = Harness(yaml: internalNLBYAML(tcpGroup: "\n    targetType: ip"))
        let node = h.nodeENI("internal", zone: "us-east-1a").ipv4!
        let syn = h.send(Packets.tcp(h.ipv4("app"), 40000, node, 80, .syn), from: h.port("app"))
        let out = Seen(syn.bytes)
        #expect(syn.port == h.port("web-a") && out.source == node.description && out.sourcePort >= 10000)
        let reply = h.send(Packets.tcp(h.ipv4("web-a"), 80, node, out.sourcePort, [.syn, .ack], seq: 9, ack: 1001), from: h.port("web-a"))
        #expect(reply.port == h.port("app") && Seen(reply.bytes).destinationPort == 40000 && Seen(reply.bytes).checksumsValid)
    }

    /// With its address preserved, web-a reaching itself through the NLB would get its own
    /// packet: refused, counted; web-b (in the other zone) goes through node a to web-a fine.
    @Test func aTargetCannotReachItselfWithItsAddressPreserved() {
        let h = Harness(yaml: internalNLBYAML())
        let node = h.nodeENI("internal", zone: "us-east-1a").ipv4!
        #expect(h.send(Packets.tcp(h.ipv4("web-a"), 40000, node, 80, .syn), from: h.port("web-a")).drop == .loadBalancerHairpin)
        #expect(h.send(Packets.tcp(h.ipv4("web-b"), 40000, node, 80, .syn), from: h.port("web-b")).port == h.port("web-a"))
        // Without preservation the node's address is the source: no hairpin.
        let ip = Harness(yaml: internalNLBYAML(tcpGroup: "\n    targetType: ip"))
        #expect(ip.send(Packets.tcp(ip.ipv4("web-a"), 40000, node, 80, .syn), from: ip.port("web-a")).port == ip.port("web-a"))
    }

    /// A UDP listener: the client's datagrams reach a target (client IP preserved, always for UDP
    /// with IP targets), its replies come back from the node.
    @Test func udpThroughAUDPListener() {
        let h = Harness(yaml: internalNLBYAML())
        let node = h.nodeENI("internal", zone: "us-east-1b").ipv4!
        let query = h.send(Packets.udp(h.ipv4("app"), 33000, node, 53), from: h.port("app"))
        #expect(query.port == h.port("web-b") && Seen(query.bytes).source == h.ipv4("app").description && Seen(query.bytes).checksumsValid)
        let answer = h.send(Packets.udp(h.ipv4("web-b"), 53, h.ipv4("app"), 33000), from: h.port("web-b"))
        #expect(answer.port == h.port("app") && Seen(answer.bytes).source == node.description && Seen(answer.bytes).sourcePort == 53)
    }

    /// What is not a listener's stays refused: a SYN to another port of the node's address (the
    /// way back to a consumer is closed to the provider, docs/aws-behaviour.md §4).
    @Test func otherPortsOfTheNodeStayClosed() {
        let h = Harness(yaml: internalNLBYAML())
        let node = h.nodeENI("internal", zone: "us-east-1a").ipv4!
        #expect(h.send(Packets.tcp(h.ipv4("app"), 40000, node, 10000, .syn), from: h.port("app")).drop == .providerInitiated)
    }
}
