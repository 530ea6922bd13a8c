import PacketWire

/// A small Ethernet capture of varied packets, made with the builders: what `privet demo` shows
/// until the dataplane exists, and a fixture the tests cross-check against tshark.
public enum SampleCapture {
    /// Frames in order, each an Ethernet frame, with a one-line note saying what it is.
    public static func frames() -> [(note: String, bytes: [UInt8])] {
        let client = IPv4Address(10, 0, 1, 10)
        let server = IPv4Address(10, 0, 2, 20)
        let client6 = IPv6Address("fd00:1::10")!
        let server6 = IPv6Address("fd00:2::20")!
        var frames: [(String, [UInt8])] = []

        func ethernet(_ etherType: EtherType, vlans: [UInt16] = [], _ packet: [UInt8]) -> [UInt8] {
            var fields = EthernetFields(destination: MACAddress(0x02_00_00_00_00_02),
                                        source: MACAddress(0x02_00_00_00_00_01), etherType: etherType)
            fields.vlanIDs = vlans
            var header = [UInt8](repeating: 0, count: fields.headerLength)
            _ = header.withUnsafeMutableBytes { PacketBuilder.ethernet(fields, into: $0) }
            return header + packet
        }
        func v4(_ transport: TransportFields, _ payload: [UInt8] = [], from: IPv4Address = client,
                to: IPv4Address = server, edit: (inout IPv4Fields) -> Void = { _ in }) -> [UInt8] {
            var ip = IPv4Fields(source: from, destination: to)
            edit(&ip)
            return PacketBuilder.ipv4Packet(ip, transport, payload: payload)
        }
        func v6(_ transport: TransportFields, _ payload: [UInt8] = [], from: IPv6Address = client6,
                to: IPv6Address = server6, extensions: [IPv6ExtensionHeader] = []) -> [UInt8] {
            var ip = IPv6Fields(source: from, destination: to)
            ip.extensionHeaders = extensions
            return PacketBuilder.ipv6Packet(ip, transport, payload: payload)
        }
        func tcp(_ sport: UInt16, _ dport: UInt16, _ flags: TCPFlags, seq: UInt32, ack: UInt32 = 0,
                 options: Bool = false) -> TransportFields {
            var fields = TCPFields(sourcePort: sport, destinationPort: dport, flags: flags)
            fields.sequenceNumber = seq
            fields.acknowledgmentNumber = ack
            if options {
                fields.maximumSegmentSize = 1460
                fields.sackPermitted = true
                fields.timestamps = TCPTimestamps(value: 1000, echoReply: 0)
                fields.windowScale = 7
            }
            return .tcp(fields)
        }
        let request = Array("GET / HTTP/1.1\r\nHost: service\r\n\r\n".utf8)
        // A DNS query (RFC 1035 §4.1): id 0x1234, recursion desired, one question: service.local A IN.
        let dnsQuery: [UInt8] = [0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]
            + [7] + Array("service".utf8) + [5] + Array("local".utf8) + [0, 0, 1, 0, 1]

        frames.append(("IPv4 TCP SYN with MSS, SACK, timestamps, window scale",
                       ethernet(.ipv4, v4(tcp(40000, 80, .syn, seq: 1000, options: true)))))
        frames.append(("IPv4 TCP SYN-ACK", ethernet(.ipv4, v4(tcp(80, 40000, [.syn, .ack], seq: 5000, ack: 1001, options: true),
                                                                from: server, to: client))))
        frames.append(("IPv4 TCP request with data, on VLAN 100",
                       ethernet(.ipv4, vlans: [100], v4(tcp(40000, 80, [.psh, .ack], seq: 1001, ack: 5001), request))))
        frames.append(("IPv4 TCP FIN on QinQ 200/100",
                       ethernet(.ipv4, vlans: [200, 100], v4(tcp(40000, 80, [.fin, .ack], seq: 1035, ack: 5001)))))
        frames.append(("IPv4 UDP to the VPC resolver", ethernet(.ipv4, v4(.udp(UDPFields(sourcePort: 53000, destinationPort: 53)),
                                                                          dnsQuery,
                                                                          to: IPv4Address(10, 0, 0, 2)))))
        frames.append(("IPv4 ICMP echo request", ethernet(.ipv4, v4(.icmp(.echo(request: true, v6: false, identifier: 7, sequence: 1)),
                                                                    [UInt8](repeating: 0x61, count: 56)))))
        let quoted = Array(v4(tcp(40000, 80, .syn, seq: 1000)).prefix(28))
        frames.append(("IPv4 ICMP time exceeded quoting the SYN",
                       ethernet(.ipv4, v4(.icmp(ICMPFields(type: 11)), quoted, from: IPv4Address(10, 0, 0, 1), to: client))))
        // One 104-byte UDP datagram cut in two: 64 bytes (its header included) and 40.
        let datagram = Array(v4(.udp(UDPFields(sourcePort: 4000, destinationPort: 4001)),
                                [UInt8](repeating: 7, count: 96)).dropFirst(20))
        frames.append(("IPv4 first fragment", ethernet(.ipv4, v4(.raw(.udp), Array(datagram.prefix(64))) { ip in
            ip.identification = 4321
            ip.moreFragments = true
        })))
        frames.append(("IPv4 second fragment", ethernet(.ipv4, v4(.raw(.udp), Array(datagram.dropFirst(64))) { ip in
            ip.identification = 4321
            ip.fragmentOffset = 64
        })))
        frames.append(("IPv6 TCP SYN through hop-by-hop and destination options",
                       ethernet(.ipv6, v6(tcp(40001, 443, .syn, seq: 77, options: true),
                                          extensions: [.hopByHop(length: 8), .destinationOptions(length: 16)]))))
        frames.append(("IPv6 UDP", ethernet(.ipv6, v6(.udp(UDPFields(sourcePort: 40002, destinationPort: 9000)), [1, 2, 3, 4, 5]))))
        frames.append(("IPv6 ICMPv6 echo request", ethernet(.ipv6, v6(.icmp(.echo(request: true, v6: true, identifier: 9, sequence: 3)),
                                                                      [UInt8](repeating: 0x62, count: 16)))))
        frames.append(("IPv6 later fragment", ethernet(.ipv6, v6(.raw(.udp), [UInt8](repeating: 3, count: 24),
                                                                   extensions: [.fragment(offset: 1232, moreFragments: false, identification: 99)]))))

        var geneve = GENEVEFields(protocolType: .ipv4)
        geneve.options = [
            GENEVEOptionFields(optionClass: 0x0108, type: 1, data: [0, 0, 0, 0, 0, 0, 0, 1]),
            GENEVEOptionFields(optionClass: 0x0108, type: 2, data: [0, 0, 0, 0, 0, 0, 0, 2]),
            GENEVEOptionFields(optionClass: 0x0108, type: 3, data: [0xC0, 0x0C, 0x1E, 0x00]),
        ]
        var geneveHeader = [UInt8](repeating: 0, count: geneve.headerLength)
        _ = geneveHeader.withUnsafeMutableBytes { PacketBuilder.geneve(geneve, into: $0) }
        let inner = v4(tcp(40000, 80, .syn, seq: 1000))
        frames.append(("GENEVE to an appliance carrying the client's SYN",
                       ethernet(.ipv4, v4(.udp(UDPFields(sourcePort: 51000, destinationPort: GENEVEHeader.udpPort)),
                                          geneveHeader + inner, from: IPv4Address(10, 0, 9, 5), to: IPv4Address(10, 0, 9, 100)))))
        frames.append(("ARP (not IP)", ethernet(.arp, [0, 1, 8, 0, 6, 4, 0, 1] + [UInt8](repeating: 0, count: 20))))
        var badIHL = v4(tcp(40000, 80, .ack, seq: 1))
        badIHL[0] = 0x43
        frames.append(("IPv4 with IHL 3 (malformed)", ethernet(.ipv4, badIHL)))
        return frames
    }

    /// Writes the frames to `path` as an Ethernet pcap, one millisecond apart from `start`.
    public static func write(path: String, startNanoseconds: Int64 = 1_700_000_000_000_000_000) throws(IOError) {
        let writer = try CaptureWriter(path: path, linkType: .ethernet)
        for (index, frame) in frames().enumerated() {
            frame.bytes.withUnsafeBytes { bytes in
                writer.write(bytes, timestampNanoseconds: startNanoseconds + Int64(index) * 1_000_000)
            }
        }
        try writer.close()
    }
}
