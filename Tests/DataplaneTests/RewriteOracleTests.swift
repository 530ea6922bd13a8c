import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import TestSupport

/// Every packet the dataplane rewrites, checked against a full recompute of its checksums.
@Suite("Rewritten packets")
struct RewriteOracleTests {
    /// IPv4 and IPv6 clients, to IPv4 targets (IPv6 translated, RFC 7915) and to IPv6 targets.
    @Test(arguments: [false, true])
    func randomFlowsThroughTheEndpointKeepEveryChecksumRight(ipv6Targets: Bool) {
        let yaml = ipv6Targets ? crossZoneYAML.replacingOccurrences(of: "    targets: [{host: web-a}, {host: web-b}]\n",
                                                                   with: "    targets: [{host: web-a}, {host: web-b}]\n    ipAddressType: ipv6\n")
            : crossZoneYAML
        let h = Harness(yaml: yaml) { $0.flowCapacity = 4096 }
        var generator = SeededGenerator(seed: 1624)
        let endpoint4 = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let endpoint6 = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv6!
        var checked = 0
        for connection in 0..<500 {
            // An `ipv6` group takes IPv6 clients only.
            let v6 = ipv6Targets || connection % 3 == 0
            let sourcePort = UInt16(10000 + connection)
            let seq = UInt32.random(in: 0...UInt32.max, using: &generator)
            let mss = UInt16.random(in: 500...9500, using: &generator)
            let syn = v6 ? Packets.tcp6(h.ipv6("client-a"), sourcePort, endpoint6, 80, .syn, seq: seq, mss: mss)
                : Packets.tcp(h.ipv4("client-a"), sourcePort, endpoint4, 80, .syn, seq: seq, mss: mss)
            let out = h.send(syn, from: h.port("client-a"))
            guard let targetPort = out.port else {
                Issue.record("connection \(connection) dropped: \(String(describing: out.drop))")
                continue
            }
            let seen = Seen(out.bytes)
            #expect(seen.checksumsValid)
            #expect(seen.mss == min(mss, v6 ? 8440 : 8460))
            // Replies and data of random sizes, both ways.
            let target = targetPort == h.port("web-a") ? "web-a" : "web-b"
            let node = seen.source
            let targetV6 = out.bytes[0] >> 4 == 6
            for round in 0..<4 {
                let size = Int.random(in: 0...1400, using: &generator)
                let packet: [UInt8]
                let from: Int
                if round % 2 == 0 {
                    packet = targetV6 ? Packets.tcp6(h.ipv6(target), 80, IPv6Address(node)!, seen.sourcePort, [.ack, .psh], seq: 1, ack: seq &+ 1, payload: size)
                        : Packets.tcp(h.ipv4(target), 80, IPv4Address(node)!, seen.sourcePort, [.ack, .psh], seq: 1, ack: seq &+ 1, payload: size)
                    from = targetPort
                } else {
                    packet = v6 ? Packets.tcp6(h.ipv6("client-a"), sourcePort, endpoint6, 80, [.ack, .psh], seq: seq &+ 1, ack: 2, payload: size)
                        : Packets.tcp(h.ipv4("client-a"), sourcePort, endpoint4, 80, [.ack, .psh], seq: seq &+ 1, ack: 2, payload: size)
                    from = h.port("client-a")
                }
                let result = h.send(packet, from: from)
                #expect(result.port != nil)
                #expect(Seen(result.bytes).checksumsValid, "connection \(connection) round \(round)")
                checked += 1
            }
        }
        #expect(checked == 2000)
    }
}
