import Testing
import Dataplane
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
        let syn = h.send(Harness.tcp(client, 40000, endpoint, 80, .syn, seq: 7, mss: 9001), from: h.port("client-a"))
        #expect(syn.port == h.port("web-a"))
        let out = Seen(syn.bytes)
        #expect(out.source == node.description && out.destination == h.ipv4("web-a").description)
        #expect(out.destinationPort == 80)
        #expect(out.sourcePort >= 10000 && out.sourcePort < 65000, "a port of the NLB's pool")
        #expect(out.mss == 8460, "clamped to the endpoint's MSS")
        #expect(out.checksumsValid)

        // The target's SYN-ACK goes back to the client, which sees the endpoint answering.
        let synAck = h.send(Harness.tcp(h.ipv4("web-a"), 80, node, out.sourcePort, [.syn, .ack], seq: 500, ack: 8, mss: 8960),
                            from: h.port("web-a"))
        #expect(synAck.port == h.port("client-a"))
        let back = Seen(synAck.bytes)
        #expect(back.source == endpoint.description && back.destination == client.description)
        #expect(back.sourcePort == 80 && back.destinationPort == 40000)
        #expect(back.mss == 8460)
        #expect(back.checksumsValid)

        // Data both ways keeps to the same target and port.
        let data = h.send(Harness.tcp(client, 40000, endpoint, 80, [.psh, .ack], seq: 8, ack: 501, payload: 100), from: h.port("client-a"))
        #expect(data.port == h.port("web-a"))
        #expect(Seen(data.bytes).sourcePort == out.sourcePort && Seen(data.bytes).checksumsValid)
        #expect(h.dataplane.counters.endpoints[0].flows == 1)
        #expect(h.dataplane.counters.endpoints[0].packets == 3)
        #expect(h.dataplane.flows.count == 1)
    }
}
