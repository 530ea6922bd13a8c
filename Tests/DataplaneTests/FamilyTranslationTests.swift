import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

/// An IPv6 client of a dualstack NLB reaching the targets of an `ipv4` group (the default): the
/// flow translated to IPv4 from the node's IPv4 address (RFC 7915), the MSS clamped for the
/// IPv6 side, and ICMP errors translated both ways (docs/aws-behaviour.md §3: traffic translated
/// from IPv6 to IPv4 shows the NLB's address).
@Suite("IPv6 clients to IPv4 targets")
struct FamilyTranslationTests {
    struct Path {
        let h = Harness()
        var client: IPv6Address { h.ipv6("client-a") }
        var endpoint: IPv6Address { h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6! }
        var node: IPv4Address { h.nodeENI("web-nlb", zone: "us-east-1a").ipv4! }
        var web: IPv4Address { h.ipv4("web-a") }
    }

    static func handshake(_ path: Path) -> UInt16 {
        let syn = path.h.send(Packets.tcp6(path.client, 40000, path.endpoint, 80, .syn, seq: 1000, mss: 8940), from: path.h.port("client-a"))
        return Seen(syn.bytes).sourcePort
    }

    @Test func aFlowCrossesTheFamiliesBothWays() {
        let path = Path()
        let h = path.h
        let syn = h.send(Packets.tcp6(path.client, 40000, path.endpoint, 80, .syn, seq: 1000, mss: 8940), from: h.port("client-a"))
        #expect(syn.port == h.port("web-a"))
        #expect(syn.bytes.first.map { $0 >> 4 } == 4 && syn.bytes.count == 20 + 24, "an IPv4 packet, 20 bytes of header fewer")
        let out = Seen(syn.bytes)
        #expect(out.source == path.node.description && out.destination == path.web.description && out.destinationPort == 80)
        #expect(out.checksumsValid && out.sequence == 1000)
        #expect(out.mss == 8440, "the IPv6 side's clamp: the target's segments grow by 20 bytes on their way back")
        var ip = syn.bytes
        ip.withUnsafeMutableBytes { buffer in
            let packet = try! IPv4Packet(buffer)
            #expect(packet.dontFragment && packet.ttl == 64 && packet.headerChecksumIsValid, "RFC 7915 §5.1")
        }
        let synAck = h.send(Packets.tcp(path.web, 80, path.node, out.sourcePort, [.syn, .ack], seq: 5000, ack: 1001, mss: 8960),
                            from: h.port("web-a"))
        #expect(synAck.port == h.port("client-a"))
        #expect(synAck.bytes.first.map { $0 >> 4 } == 6 && synAck.bytes.count == 40 + 24)
        let back = Seen(synAck.bytes)
        #expect(back.source == path.endpoint.description && back.destination == path.client.description)
        #expect(back.sourcePort == 80 && back.destinationPort == 40000 && back.checksumsValid && back.mss == 8440)
        let data = h.send(Packets.tcp6(path.client, 40000, path.endpoint, 80, [.psh, .ack], seq: 1001, ack: 5001, payload: 500),
                          from: h.port("client-a"))
        #expect(Seen(data.bytes).checksumsValid && Seen(data.bytes).payload == 500 && data.bytes.count == 20 + 20 + 500)
        let reply = h.send(Packets.tcp(path.web, 80, path.node, out.sourcePort, [.psh, .ack], seq: 5001, ack: 1501, payload: 1200),
                           from: h.port("web-a"))
        #expect(Seen(reply.bytes).checksumsValid && Seen(reply.bytes).payload == 1200 && reply.bytes.count == 40 + 20 + 1200)
    }

    /// The target's "fragmentation needed" reaches the client as ICMPv6 Packet Too Big, 20 bytes
    /// larger, quoting the packet as the client sent it.
    @Test func anICMPErrorFromTheTargetBecomesICMPv6() throws {
        let path = Path()
        let h = path.h
        let syn = h.send(Packets.tcp6(path.client, 40000, path.endpoint, 80, .syn, seq: 1000), from: h.port("client-a"))
        let quoted = Array(syn.bytes.prefix(28))
        let error = PacketBuilder.ipv4Packet(IPv4Fields(source: path.web, destination: path.node),
                                             .icmp(ICMPFields(type: 3, code: 4, restOfHeader: 1400)), payload: quoted)
        let out = h.send(error, from: h.port("web-a"))
        #expect(out.port == h.port("client-a"))
        var bytes = out.bytes
        try bytes.withUnsafeMutableBytes { buffer in
            let ip = try IPv6Packet(buffer)
            #expect(ip.source == path.endpoint && ip.destination == path.client && ip.upperLayerProtocol == .icmpv6)
            let icmp = try ICMPv6Message(ip.upperLayer)
            #expect(icmp.type == 2 && icmp.code == 0 && icmp.mtu == 1420 && icmp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            let inner = try #require(icmp.quotedPacket)
            #expect(inner.source == path.client && inner.destination == path.endpoint && inner.upperLayerProtocol == .tcp)
            let ports = inner.upperLayer
            #expect(UInt16(ports[0]) << 8 | UInt16(ports[1]) == 40000 && UInt16(ports[2]) << 8 | UInt16(ports[3]) == 80)
        }
    }

    /// The client's ICMPv6 error about a reply reaches the target as ICMP, quoting the reply as
    /// the target sent it; an error with no counterpart is dropped, counted.
    @Test func anICMPv6ErrorFromTheClientBecomesICMP() throws {
        let path = Path()
        let h = path.h
        let nat = Self.handshake(path)
        let reply = h.send(Packets.tcp(path.web, 80, path.node, nat, [.syn, .ack], seq: 5000, ack: 1001), from: h.port("web-a"))
        let quoted = Array(reply.bytes.prefix(48))
        let error = PacketBuilder.ipv6Packet(IPv6Fields(source: path.client, destination: path.endpoint),
                                             .icmp(ICMPFields(type: 1, code: 4, restOfHeader: 0)), payload: quoted)
        let out = h.send(error, from: h.port("client-a"))
        #expect(out.port == h.port("web-a"))
        var bytes = out.bytes
        try bytes.withUnsafeMutableBytes { buffer in
            let ip = try IPv4Packet(buffer)
            #expect(ip.source == path.node && ip.destination == path.web && ip.protocol == .icmp && ip.headerChecksumIsValid)
            let icmp = try ICMPv4Message(ip.payload)
            #expect(icmp.type == 3 && icmp.code == 3 && icmp.checksumIsValid, "port unreachable")
            let inner = try #require(icmp.quotedPacket)
            #expect(inner.source == path.web && inner.destination == path.node && inner.headerChecksumIsValid)
            let ports = inner.payload
            #expect(UInt16(ports[0]) << 8 | UInt16(ports[1]) == 80 && UInt16(ports[2]) << 8 | UInt16(ports[3]) == nat)
        }
        let parameter = PacketBuilder.ipv6Packet(IPv6Fields(source: path.client, destination: path.endpoint),
                                                 .icmp(ICMPFields(type: 4, code: 0, restOfHeader: 8)), payload: quoted)
        #expect(h.send(parameter, from: h.port("client-a")).drop == .icmpUntranslatable)
    }
}
