import Testing
import PacketWire
import TestSupport

// Negative vectors: one per malformation reason, each a valid golden vector (see
// GoldenVectorTests) with the bytes named in its description changed.

@Suite("Malformed input")
struct MalformedTests {
    static let ipv4TCP = bytes("4500003c000140004006239e0a00010a0a0002149c400050000003e800000000a002faf084e70000020405b40402080a000010920000000001030307")
    static let ipv6UDP = bytes("62012345001d003ffd000001000000000000000000000010fd0000020000000000000000000000203c0001040000000011000104000000009c422328000dacce3132333435")
    static let geneve = bytes("050008000001230001080102000000000000000101088301c00c1e004500001c0000000040015fc80a00010a080808080800f7fd00010001")

    struct Case: CustomTestStringConvertible, Sendable {
        let description: String
        let layer: WireLayer
        let reason: WireError
        let etherType: EtherType
        let packet: [UInt8]
        var testDescription: String { description }
    }

    static func edited(_ packet: [UInt8], _ edit: (inout [UInt8]) -> Void) -> [UInt8] {
        var copy = packet
        edit(&copy)
        return copy
    }

    static let cases: [Case] = [
        Case(description: "IPv4 shorter than 20 bytes", layer: .ipv4, reason: .truncated, etherType: .ipv4,
             packet: Array(ipv4TCP.prefix(19))),
        Case(description: "IPv4 version 5", layer: .ipv4, reason: .badVersion, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[0] = 0x55 }),
        Case(description: "IPv4 IHL 4", layer: .ipv4, reason: .badHeaderLength, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[0] = 0x44 }),
        Case(description: "IPv4 IHL 15 past the buffer", layer: .ipv4, reason: .truncated, etherType: .ipv4,
             packet: Array(edited(ipv4TCP) { $0[0] = 0x4F }.prefix(40))),
        Case(description: "IPv4 total length 19, below its header", layer: .ipv4, reason: .badTotalLength, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[2] = 0; $0[3] = 19 }),
        Case(description: "IPv4 total length 61 with 60 bytes present", layer: .ipv4, reason: .truncated, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[3] = 61 }),
        Case(description: "TCP data offset 4", layer: .tcp, reason: .badDataOffset, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[32] = 0x40 | ($0[32] & 0x0F) }),
        Case(description: "TCP data offset 15 beyond a 40-byte segment", layer: .tcp, reason: .badDataOffset, etherType: .ipv4,
             packet: edited(ipv4TCP) { $0[32] = 0xF0 | ($0[32] & 0x0F) }),
        Case(description: "TCP header cut at 19 bytes", layer: .tcp, reason: .truncated, etherType: .ipv4,
             packet: edited(Array(ipv4TCP.prefix(39))) { $0[3] = 39 }),
        Case(description: "IPv6 shorter than 40 bytes", layer: .ipv6, reason: .truncated, etherType: .ipv6,
             packet: Array(ipv6UDP.prefix(39))),
        Case(description: "IPv6 version 4 in an IPv6 frame", layer: .ipv6, reason: .badVersion, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[0] = 0x42 }),
        Case(description: "IPv6 payload length past the buffer", layer: .ipv6, reason: .truncated, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[5] = 30 }),
        Case(description: "IPv6 hop-by-hop header not first", layer: .ipv6, reason: .badExtensionChain, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[40] = 0 }),
        Case(description: "IPv6 destination options longer than the payload", layer: .ipv6, reason: .badExtensionChain, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[49] = 9 }),
        Case(description: "UDP length 7", layer: .udp, reason: .badUDPLength, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[60] = 0; $0[61] = 7 }),
        Case(description: "UDP length past the packet", layer: .udp, reason: .truncated, etherType: .ipv6,
             packet: edited(ipv6UDP) { $0[61] = 14 }),
        Case(description: "ICMP shorter than its 8-byte header", layer: .icmpv4, reason: .truncated, etherType: .ipv4,
             packet: bytes("450000190009000040016bb70a00010a0a00021408001111111111")),
    ]

    @Test(arguments: cases)
    func refusedWithReason(_ testCase: Case) {
        withPacket(testCase.packet) { buffer in
            #expect(throws: Malformation(testCase.layer, testCase.reason)) {
                try PacketDissection(etherType: testCase.etherType, bytes: buffer)
            }
        }
    }

    @Test func ipv6ChainDeeperThanTheLimitIsRefused() {
        var ip = IPv6Fields(source: IPv6Address(high: 1, low: 1), destination: IPv6Address(high: 2, low: 2))
        ip.extensionHeaders = Array(repeating: .destinationOptions(length: 8), count: IPv6Packet.maximumExtensionHeaders + 1)
        let packet = PacketBuilder.ipv6Packet(ip, .udp(UDPFields(sourcePort: 1, destinationPort: 2)))
        withPacket(packet) { buffer in
            #expect(throws: WireError.badExtensionChain) { try IPv6Packet(buffer) }
        }
        ip.extensionHeaders.removeLast()
        withPacket(PacketBuilder.ipv6Packet(ip, .udp(UDPFields(sourcePort: 1, destinationPort: 2)))) { buffer in
            #expect((try? IPv6Packet(buffer))?.upperLayerProtocol == .udp)
        }
    }

    @Test func ethernetFrames() {
        // scapy: Ether()/Dot1AD(vlan=1)/Dot1Q(vlan=2)/Dot1Q(vlan=3)/IP() — three tags.
        let threeTags = bytes("020000000002020000000001 88a8 0001 8100 0002 8100 0003 0800") + Self.ipv4TCP
        withPacket(threeTags) { buffer in
            #expect(throws: Malformation(.ethernet, .tooManyVLANTags)) {
                try PacketDissection(linkType: .ethernet, bytes: buffer)
            }
        }
        withPacket(bytes("020000000002020000000001 8100 00")) { buffer in
            #expect(throws: WireError.truncated) { try EthernetFrame(buffer) }
        }
        withPacket(bytes("0200000000020200000000")) { buffer in
            #expect(throws: WireError.truncated) { try EthernetFrame(buffer) }
        }
    }

    @Test func linkLayers() {
        withPacket(bytes("55000000")) { buffer in
            #expect(throws: Malformation(.link, .unsupportedProtocol)) {
                try PacketDissection(linkType: .rawIP, bytes: buffer)
            }
        }
        withPacket([]) { buffer in
            #expect(throws: Malformation(.link, .truncated)) { try PacketDissection(linkType: .rawIP, bytes: buffer) }
        }
        withPacket(Array(repeating: 0, count: 15)) { buffer in
            #expect(throws: Malformation(.link, .truncated)) { try PacketDissection(linkType: .linuxSLL, bytes: buffer) }
        }
        withPacket(Array(repeating: 0, count: 19)) { buffer in
            #expect(throws: Malformation(.link, .truncated)) { try PacketDissection(linkType: .linuxSLL2, bytes: buffer) }
        }
    }

    @Test func geneveMalformations() {
        withPacket(Array(Self.geneve.prefix(7))) { buffer in
            #expect(throws: WireError.truncated) { try GENEVEHeader(buffer) }
        }
        withPacket(Self.edited(Self.geneve) { $0[0] = 0x45 }) { buffer in
            #expect(throws: WireError.badVersion) { try GENEVEHeader(buffer) }
        }
        // Option length 20 bytes declared, but the first option claims 24 bytes of data.
        withPacket(Self.edited(Self.geneve) { $0[11] = 6 }) { buffer in
            #expect(throws: WireError.badGENEVEOptions) { try GENEVEHeader(buffer) }
        }
        // Options length 3 words: a first option of 8 bytes, then a second that claims 8 bytes
        // where only 4 remain.
        withPacket(Self.edited(Self.geneve) { $0[0] = 0x03; $0[11] = 1; $0[19] = 1 }) { buffer in
            #expect(throws: WireError.badGENEVEOptions) { try GENEVEHeader(buffer) }
        }
        // Options running past the bytes present.
        withPacket(Array(Self.geneve.prefix(20))) { buffer in
            #expect(throws: WireError.truncated) { try GENEVEHeader(buffer) }
        }
    }

    @Test func tcpOptionWalkStopsAtMalformedLengths() throws {
        // Data offset 7: 8 option bytes. MSS with length 4, then an option of kind 3 with length 0.
        var packet = Self.ipv4TCP
        try withPacket(packet) { buffer in
            let tcp = try TCPSegment(try IPv4Packet(buffer).payload)
            #expect(tcp.headerLength == 40)
        }
        packet[40 + 4] = 3
        packet[40 + 5] = 0
        try withPacket(packet) { buffer in
            let tcp = try TCPSegment(try IPv4Packet(buffer).payload)
            #expect(Array(tcp.options) == [.maximumSegmentSize(1460), .malformed(kind: 3)])
        }
        // An option whose length runs past the header.
        packet[40 + 4] = 8
        packet[40 + 5] = 40
        try withPacket(packet) { buffer in
            let tcp = try TCPSegment(try IPv4Packet(buffer).payload)
            #expect(Array(tcp.options) == [.maximumSegmentSize(1460), .malformed(kind: 8)])
        }
        // A window scale option with the wrong length for its kind.
        packet[40 + 4] = 3
        packet[40 + 5] = 4
        try withPacket(packet) { buffer in
            let tcp = try TCPSegment(try IPv4Packet(buffer).payload)
            #expect(Array(tcp.options) == [.maximumSegmentSize(1460), .malformed(kind: 3)])
        }
    }

    /// Random bytes through every door: no view may trap, and every accessor of a view that
    /// accepted them must stay in bounds (checked by reading all of them).
    @Test func randomBytesNeverTrap() {
        var generator = SeededGenerator(seed: 0x5EED)
        var accepted = 0
        for round in 0..<20_000 {
            var packet = [UInt8].random(count: Int.random(in: 0...120, using: &generator), using: &generator)
            // Bias the first byte towards plausible versions so deeper layers are reached.
            if !packet.isEmpty { packet[0] = [0x45, 0x46, 0x60, 0x4F, 0x00][round % 5] | (packet[0] & (round % 3 == 0 ? 0 : 0x0F)) }
            withPacket(packet) { buffer in
                for linkType in [LinkType.rawIP, .ethernet, .linuxSLL, .linuxSLL2] {
                    if let dissection = try? PacketDissection(linkType: linkType, bytes: buffer) {
                        accepted += 1
                        _ = PacketText.line(dissection)
                    }
                }
                if let geneve = try? GENEVEHeader(buffer) {
                    for option in geneve.options { _ = Array(option.data) }
                    _ = geneve.payload.count
                }
            }
        }
        #expect(accepted > 1000)
    }
}
