import Testing
import PacketWire
import TestSupport

@Suite("Build, parse, compare")
struct RoundTripTests {
    /// Random field values through the builders and back through the views: the same fields, and
    /// every checksum valid.
    @Test func randomPacketsRoundTrip() throws {
        var generator = SeededGenerator(seed: 0xB01D)
        for _ in 0..<20_000 {
            let made = RandomPackets.make(&generator, allowExtensions: Bool.random(using: &generator))
            try withPacket(made.bytes) { buffer in
                let dissection = try PacketDissection(etherType: made.ipv4 ? .ipv4 : .ipv6, bytes: buffer)
                let pseudo: UInt32
                switch dissection.network {
                case .ipv4(let ip):
                    let fields = try #require(made.ip4)
                    #expect(ip.source == fields.source && ip.destination == fields.destination)
                    #expect(ip.ttl == fields.ttl && ip.identification == fields.identification)
                    #expect(ip.dscp == fields.dscp && ip.ecn == fields.ecn && ip.dontFragment == fields.dontFragment)
                    #expect(ip.headerLength == 20 + fields.options.count)
                    #expect(ip.totalLength == made.bytes.count)
                    #expect(ip.headerChecksumIsValid)
                    pseudo = ip.pseudoHeaderSum
                case .ipv6(let ip):
                    let fields = try #require(made.ip6)
                    #expect(ip.source == fields.source && ip.destination == fields.destination)
                    #expect(ip.hopLimit == fields.hopLimit && ip.trafficClass == fields.trafficClass)
                    #expect(ip.flowLabel == fields.flowLabel)
                    #expect(ip.extensionHeaderCount == fields.extensionHeaders.count)
                    #expect(ip.payloadLength == made.bytes.count - 40)
                    pseudo = ip.pseudoHeaderSum
                case .other:
                    Issue.record("not IP")
                    return
                }
                switch (dissection.transport, made.transport) {
                case (.tcp(let tcp), .tcp(let fields)):
                    #expect(tcp.sourcePort == fields.sourcePort && tcp.destinationPort == fields.destinationPort)
                    #expect(tcp.sequenceNumber == fields.sequenceNumber)
                    #expect(tcp.acknowledgmentNumber == fields.acknowledgmentNumber)
                    #expect(tcp.flags == fields.flags && tcp.window == fields.window)
                    #expect(tcp.urgentPointer == fields.urgentPointer)
                    var mss: UInt16? = nil, scale: UInt8? = nil, sack = false, stamps: TCPTimestamps? = nil
                    for option in tcp.options {
                        switch option {
                        case .maximumSegmentSize(let value): mss = value
                        case .windowScale(let value): scale = value
                        case .sackPermitted: sack = true
                        case .timestamps(let value, let echo): stamps = TCPTimestamps(value: value, echoReply: echo)
                        case .endOfList, .noOperation: break
                        default: Issue.record("unexpected option \(option)")
                        }
                    }
                    #expect(mss == fields.maximumSegmentSize && scale == fields.windowScale)
                    #expect(sack == fields.sackPermitted && stamps == fields.timestamps)
                    #expect(Array(tcp.payload) == made.payload)
                    #expect(tcp.checksumIsValid(pseudoHeaderSum: pseudo))
                case (.udp(let udp), .udp(let fields)):
                    #expect(udp.sourcePort == fields.sourcePort && udp.destinationPort == fields.destinationPort)
                    #expect(Array(udp.payload) == made.payload)
                    #expect(udp.checksumIsValid(pseudoHeaderSum: pseudo, ipv4: made.ipv4))
                    #expect((udp.checksum == 0) == (made.ipv4 && !fields.computeChecksum))
                case (.icmpv4(let icmp), .icmp(let fields)):
                    #expect(icmp.type == fields.type && icmp.code == fields.code)
                    #expect(UInt32(icmp.identifier) << 16 | UInt32(icmp.sequenceNumber) == fields.restOfHeader)
                    #expect(icmp.checksumIsValid)
                case (.icmpv6(let icmp), .icmp(let fields)):
                    #expect(icmp.type == fields.type && icmp.code == fields.code && icmp.mtu == fields.restOfHeader)
                    #expect(icmp.checksumIsValid(pseudoHeaderSum: pseudo))
                default:
                    Issue.record("transport mismatch: \(dissection.transport) vs \(made.transport)")
                }
            }
        }
    }

    @Test func ethernetAndGENEVEBuildersRoundTrip() throws {
        var ethernet = EthernetFields(destination: MACAddress(0x0A0B_0C0D_0E0F), source: MACAddress(0x0200_0000_0001),
                                      etherType: .ipv6)
        ethernet.vlanIDs = [300, 4000]
        var header = [UInt8](repeating: 0, count: ethernet.headerLength)
        let written = header.withUnsafeMutableBytes { PacketBuilder.ethernet(ethernet, into: $0) }
        #expect(written == 22)
        try withPacket(header) { buffer in
            let frame = try EthernetFrame(buffer)
            #expect(frame.destination == ethernet.destination && frame.source == ethernet.source)
            #expect(frame.vlanID(0) == 300 && frame.vlanID(1) == 4000 && frame.etherType == .ipv6)
        }
        #expect(header[12] == 0x88 && header[13] == 0xA8, "outer tag of QinQ is 802.1ad")

        var geneve = GENEVEFields(protocolType: .ipv6)
        geneve.vni = 0xABCDEF
        geneve.isOAM = true
        geneve.options = [GENEVEOptionFields(optionClass: 0x0108, type: 3, data: [1, 2, 3, 4]),
                          GENEVEOptionFields(optionClass: 0xFFFF, type: 0x80, data: [])]
        var encoded = [UInt8](repeating: 0, count: geneve.headerLength)
        #expect(encoded.withUnsafeMutableBytes { PacketBuilder.geneve(geneve, into: $0) } == 20)
        try withPacket(encoded) { buffer in
            let parsed = try GENEVEHeader(buffer)
            #expect(parsed.vni == 0xABCDEF && parsed.isOAM && parsed.protocolType == .ipv6)
            let options = Array(parsed.options)
            #expect(options.map(\.optionClass) == [0x0108, 0xFFFF])
            #expect(Array(options[0].data) == [1, 2, 3, 4] && options[1].dataLength == 0 && options[1].isCritical)
        }
        // Data that is not a multiple of 4 cannot be encoded.
        geneve.options = [GENEVEOptionFields(optionClass: 1, type: 1, data: [1, 2, 3])]
        var small = [UInt8](repeating: 0, count: 64)
        #expect(small.withUnsafeMutableBytes { PacketBuilder.geneve(geneve, into: $0) } == nil)
    }

    @Test func builderRefusesASmallBuffer() {
        var buffer = [UInt8](repeating: 0, count: 39)
        let fields = IPv4Fields(source: IPv4Address(1), destination: IPv4Address(2))
        let written = buffer.withUnsafeMutableBytes {
            PacketBuilder.ipv4(fields, .tcp(TCPFields(sourcePort: 1, destinationPort: 2, flags: .syn)),
                               payload: UnsafeRawBufferPointer(start: nil, count: 0), into: $0)
        }
        #expect(written == nil)
    }
}
