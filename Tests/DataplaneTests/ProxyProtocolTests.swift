import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import TestSupport
import Topology

/// Proxy Protocol v2 on an NLB target group (docs/aws-behaviour.md §3): the header in front of the
/// client's first data, and the sequence space it takes on the target's side.
@Suite("Proxy Protocol v2")
struct ProxyProtocolTests {
    static let golden = proxyProtocolGolden

    static func payload(_ bytes: [UInt8]) -> [UInt8] {
        var copy = bytes
        return copy.withUnsafeMutableBytes { Array(try! TCPSegment(try! IPv4Packet($0).payload).payload) }
    }

    /// The handshake's last ACK becomes the header, from the client's first byte (1001), before
    /// any data; the target's acknowledgment of it reaches the client as 1001 (nothing of the
    /// client's own data yet); later data is moved up 54 bytes, acknowledgments and SACK edges down.
    @Test func headerThenShiftedSequenceSpace() throws {
        let h = Harness(yaml: proxyProtocolYAML)
        #expect(h.topology.endpoints.first { $0.name == "web-endpoint" }?.id == "vpce-01986c19459d8ed41")
        let client = h.ipv4("client-a"), web = h.ipv4("web-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!, node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        #expect(client.description == "10.20.1.4" && endpoint.description == "10.20.1.5")
        let syn = h.send(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 1000), from: h.port("client-a"))
        let nat = Seen(syn.bytes).sourcePort
        #expect(Seen(syn.bytes).sequence == 1000 && Self.payload(syn.bytes).isEmpty, "the SYN as it was")
        let synAck = h.send(Packets.tcp(web, 80, node, nat, [.syn, .ack], seq: 5000, ack: 1001), from: h.port("web-a"))
        #expect(Seen(synAck.bytes).acknowledgment == 1001)

        let ack = h.send(Packets.tcp(client, 40000, endpoint, 80, .ack, seq: 1001, ack: 5001), from: h.port("client-a"))
        #expect(ack.port == h.port("web-a"))
        let seen = Seen(ack.bytes)
        #expect(seen.sequence == 1001 && seen.acknowledgment == 5001 && seen.checksumsValid)
        #expect(Self.payload(ack.bytes) == Self.golden)
        #expect(ack.bytes.count == 40 + 54)

        // Data sent before the target acknowledged the header carries it again (the target trims
        // what it has).
        let early = h.send(Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 1001, ack: 5001, payload: 10), from: h.port("client-a"))
        #expect(Self.payload(early.bytes) == Self.golden + [UInt8](repeating: 0x61, count: 10) && Seen(early.bytes).checksumsValid)

        let headerAcked = h.send(Packets.tcp(web, 80, node, nat, .ack, seq: 5001, ack: 1055), from: h.port("web-a"))
        #expect(Seen(headerAcked.bytes).acknowledgment == 1001 && Seen(headerAcked.bytes).checksumsValid)
        let dataAcked = h.send(Packets.tcp(web, 80, node, nat, .ack, seq: 5001, ack: 1065), from: h.port("web-a"))
        #expect(Seen(dataAcked.bytes).acknowledgment == 1011)

        // Once the header is acknowledged, data from the first byte (a retransmission) and after
        // it is moved up by 54; a FIN too.
        let resent = h.send(Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 1001, ack: 5001, payload: 10), from: h.port("client-a"))
        #expect(Seen(resent.bytes).sequence == 1055 && Self.payload(resent.bytes).count == 10 && Seen(resent.bytes).checksumsValid)
        let more = h.send(Packets.tcp(client, 40000, endpoint, 80, [.fin, .ack], seq: 1011, ack: 5001), from: h.port("client-a"))
        #expect(Seen(more.bytes).sequence == 1065 && Seen(more.bytes).checksumsValid)
    }

    /// A SACK block from the target names the client's bytes as the target numbers them: both
    /// edges come down by the header (RFC 2018).
    @Test func sackEdgesComeDownByTheHeader() throws {
        let h = Harness(yaml: proxyProtocolYAML)
        let client = h.ipv4("client-a"), web = h.ipv4("web-a")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!, node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        let nat = Seen(h.send(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 1000), from: h.port("client-a")).bytes).sourcePort
        // An ACK of 1055 with NOP, NOP, SACK [1075, 1085] (kind 5, length 10): built by hand.
        var sack = Packets.tcp(web, 80, node, nat, .ack, seq: 5001, ack: 1055)
        sack.insert(contentsOf: [1, 1, 5, 10, 0, 0, 0x04, 0x33, 0, 0, 0x04, 0x3D], at: 40)
        sack[0x20] = 0x80  // data offset 8 words
        sack[3] = UInt8(sack.count)
        sack.withUnsafeMutableBytes { buffer in
            let ip = try! IPv4Packet(buffer)
            ip.updateHeaderChecksum()
            try! TCPSegment(ip.payload).updateChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
        }
        let out = h.send(sack, from: h.port("web-a"))
        #expect(Seen(out.bytes).checksumsValid && Seen(out.bytes).acknowledgment == 1001)
        #expect(Array(out.bytes[44..<52]) == [0, 0, 0x03, 0xFD, 0, 0, 0x04, 0x07], "[1021, 1031]")
    }

    /// An IPv6 client: family TCP over IPv6, 36 bytes of addresses and ports, 78 bytes in all.
    @Test func ipv6ClientHeader() {
        let h = Harness(yaml: proxyProtocolYAML.replacingOccurrences(of: "    proxyProtocolV2: true\n",
                                                                     with: "    proxyProtocolV2: true\n    ipAddressType: ipv6\n"))
        let client = h.ipv6("client-a"), endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!
        _ = h.send(Packets.tcp6(client, 40000, endpoint, 80, .syn, seq: 1000), from: h.port("client-a"))
        let ack = h.send(Packets.tcp6(client, 40000, endpoint, 80, .ack, seq: 1001, ack: 1), from: h.port("client-a"))
        let payload = Array(ack.bytes.dropFirst(60))
        #expect(payload.count == 78 && Seen(ack.bytes).checksumsValid)
        #expect(Array(payload[12..<16]) == [0x21, 0x21, 0x00, 0x3E], "PROXY, TCP over IPv6, 62 bytes follow")
        #expect(Array(payload[16..<32]) == withUnsafeBytes(of: (client.high.bigEndian, client.low.bigEndian)) { Array($0) })
        #expect(Array(payload[48..<52]) == [0x9C, 0x40, 0x00, 0x50])
    }

    /// A header already in the client's data is the client's: left as it is, ours in front.
    @Test func aHeaderInTheDataIsKept() {
        let h = Harness(yaml: proxyProtocolYAML)
        let client = h.ipv4("client-a"), endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        _ = h.send(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 1000), from: h.port("client-a"))
        var theirs = Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 1001, ack: 1, payload: Self.golden.count)
        theirs.replaceSubrange(40..., with: Self.golden)
        theirs.withUnsafeMutableBytes { buffer in
            let ip = try! IPv4Packet(buffer)
            try! TCPSegment(ip.payload).updateChecksum(pseudoHeaderSum: ip.pseudoHeaderSum)
        }
        let out = h.send(theirs, from: h.port("client-a"))
        #expect(Self.payload(out.bytes) == Self.golden + Self.golden)
    }

    /// Without room for the header in front of the data (here a super-packet of a TUN's
    /// offloads, 1500-byte segments, that fills its buffer), the segment is dropped, counted.
    @Test func noRoomForTheHeaderIsCounted() {
        let h = Harness(yaml: proxyProtocolYAML)
        let client = h.ipv4("client-a"), endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        _ = h.send(Packets.tcp(client, 40000, endpoint, 80, .syn, seq: 1000), from: h.port("client-a"))
        let big = h.send(Packets.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 1001, ack: 1, payload: 16384 - 128 - 40 - 10),
                         from: h.port("client-a"), segmentLength: 1500)
        #expect(big.drop == .proxyHeaderNoRoom)
        #expect(h.dataplane.counters.drops(.proxyHeaderNoRoom) == 1)
    }
}
