import Testing
import PacketWire

// Golden vectors: bytes made by scapy 2.5.0 (Debian's python3-scapy) with the expression in the
// comment above each, `bytes(packet).hex()`; the fields expected are what scapy was told to put
// there (and what tshark shows for the same bytes).

@Suite("Golden vectors")
struct GoldenVectorTests {
    // scapy: Ether(dst='02:00:00:00:00:02',src='02:00:00:00:00:01')/Dot1Q(vlan=100)/IP(src='10.0.1.10',dst='10.0.2.20',id=1,ttl=64,flags='DF')/TCP(sport=40000,dport=80,seq=1000,flags='S',window=64240,options=[('MSS',1460),('SAckOK',b''),('Timestamp',(4242,0)),('NOP',None),('WScale',7)])
    static let ethVlanTCPSyn = bytes("0200000000020200000000018100006408004500003c000140004006239e0a00010a0a0002149c400050000003e800000000a002faf084e70000020405b40402080a000010920000000001030307")

    @Test func ethernetVLANIPv4TCPSyn() throws {
        try withPacket(Self.ethVlanTCPSyn) { buffer in
            let frame = try EthernetFrame(buffer)
            #expect(frame.destination == MACAddress("02:00:00:00:00:02"))
            #expect(frame.source == MACAddress("02:00:00:00:00:01"))
            #expect(frame.vlanTagCount == 1)
            #expect(frame.vlanID(0) == 100)
            #expect(frame.vlanID(1) == nil)
            #expect(frame.etherType == .ipv4)
            #expect(frame.headerLength == 18)

            let ip = try IPv4Packet(frame.payload)
            #expect(ip.headerLength == 20)
            #expect(ip.totalLength == 60)
            #expect(ip.identification == 1)
            #expect(ip.dontFragment && !ip.moreFragments && ip.fragmentOffset == 0)
            #expect(ip.ttl == 64)
            #expect(ip.protocol == .tcp)
            #expect(ip.headerChecksum == 0x239E)
            #expect(ip.headerChecksumIsValid)
            #expect(ip.source == IPv4Address("10.0.1.10"))
            #expect(ip.destination == IPv4Address("10.0.2.20"))

            let tcp = try TCPSegment(ip.payload)
            #expect(tcp.sourcePort == 40000)
            #expect(tcp.destinationPort == 80)
            #expect(tcp.sequenceNumber == 1000)
            #expect(tcp.acknowledgmentNumber == 0)
            #expect(tcp.flags == .syn)
            #expect(tcp.window == 64240)
            #expect(tcp.headerLength == 40)
            #expect(tcp.payload.count == 0)
            #expect(tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            #expect(Array(tcp.options) == [
                .maximumSegmentSize(1460), .sackPermitted, .timestamps(value: 4242, echoReply: 0),
                .noOperation, .windowScale(7),
            ])
        }
    }

    // scapy: IP(src='192.0.2.1',dst='198.51.100.2',id=0x1234,ttl=17,tos=0xb8,options=[IPOption_Router_Alert()])/UDP(sport=5000,dport=53)/Raw(b'hello')
    @Test func ipv4WithOptionsAndUDP() throws {
        try withPacket(bytes("46b8002512340000111115a1c0000201c63364029404000013880035000dbc0d68656c6c6f")) { buffer in
            let ip = try IPv4Packet(buffer)
            #expect(ip.headerLength == 24)
            #expect(ip.dscp == 46 && ip.ecn == 0)
            #expect(ip.identification == 0x1234)
            #expect(ip.ttl == 17)
            #expect(ip.protocol == .udp)
            #expect(ip.headerChecksumIsValid)
            #expect(ip.source == IPv4Address(192, 0, 2, 1))
            #expect(ip.destination == IPv4Address(198, 51, 100, 2))
            let udp = try UDPDatagram(ip.payload)
            #expect(udp.sourcePort == 5000 && udp.destinationPort == 53)
            #expect(udp.length == 13)
            #expect(Array(udp.payload) == Array("hello".utf8))
            #expect(udp.checksum == 0xBC0D)
            #expect(udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, ipv4: true))
        }
    }

    // scapy: IP(src='10.1.1.1',dst='10.2.2.2',ttl=5)/UDP(sport=1111,dport=2222,chksum=0)/Raw(b'abc')
    @Test func udpZeroChecksumOverIPv4() throws {
        try withPacket(bytes("4500001f0001000005119ec80a0101010a020202045708ae000b0000616263")) { buffer in
            let ip = try IPv4Packet(buffer)
            let udp = try UDPDatagram(ip.payload)
            #expect(udp.checksum == 0)
            // RFC 768: zero means "no checksum" over IPv4 ...
            #expect(udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, ipv4: true))
            // ... and RFC 8200 §8.1 forbids it over IPv6.
            #expect(!udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, ipv4: false))
            // Rewriting a port or an address keeps "no checksum" as zero.
            udp.setSourcePort(9)
            ip.setDestination(IPv4Address(10, 9, 9, 9))
            #expect(udp.checksum == 0)
            #expect(ip.headerChecksumIsValid)
        }
    }

    // scapy: IPv6(src='fd00:1::10',dst='fd00:2::20',hlim=63,tc=0x20,fl=0x12345)/IPv6ExtHdrHopByHop()/IPv6ExtHdrDestOpt()/UDP(sport=40002,dport=9000)/Raw(b'12345')
    @Test func ipv6HopByHopDestinationOptionsUDP() throws {
        try withPacket(bytes("62012345001d003ffd000001000000000000000000000010fd0000020000000000000000000000203c0001040000000011000104000000009c422328000dacce3132333435")) { buffer in
            let ip = try IPv6Packet(buffer)
            #expect(ip.trafficClass == 0x20)
            #expect(ip.flowLabel == 0x12345)
            #expect(ip.payloadLength == 29)
            #expect(ip.nextHeader == .hopByHop)
            #expect(ip.hopLimit == 63)
            #expect(ip.source == IPv6Address("fd00:1::10"))
            #expect(ip.destination == IPv6Address("fd00:2::20"))
            #expect(ip.extensionHeaderCount == 2)
            #expect(ip.upperLayerProtocol == .udp)
            #expect(ip.upperLayerOffset == 56)
            #expect(!ip.isFragment)
            let udp = try UDPDatagram(ip.upperLayer)
            #expect(udp.sourcePort == 40002 && udp.destinationPort == 9000)
            #expect(Array(udp.payload) == Array("12345".utf8))
            #expect(udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, ipv4: false))
        }
    }

    // scapy: IPv6(src='fd00:1::10',dst='fd00:3::1')/IPv6ExtHdrRouting(type=0,addresses=['fd00:3::2','fd00:2::20'],segleft=2)/TCP(sport=40003,dport=443,seq=7,ack=9,flags='PA')/Raw(b'xy')
    @Test func ipv6RoutingHeaderUsesFinalDestinationInPseudoHeader() throws {
        try withPacket(bytes("60000000003e2b40fd000001000000000000000000000010fd0000030000000000000000000000010604000200000000fd000003000000000000000000000002fd0000020000000000000000000000209c4301bb0000000700000009501820007f0e00007879")) { buffer in
            let ip = try IPv6Packet(buffer)
            #expect(ip.upperLayerProtocol == .tcp)
            #expect(ip.destination == IPv6Address("fd00:3::1"))
            #expect(ip.finalDestination == IPv6Address("fd00:2::20"))
            let tcp = try TCPSegment(ip.upperLayer)
            #expect(tcp.flags == [.psh, .ack])
            #expect(tcp.sequenceNumber == 7 && tcp.acknowledgmentNumber == 9)
            #expect(Array(tcp.payload) == Array("xy".utf8))
            // RFC 8200 §8.1: the pseudo-header holds the final destination, as scapy computed.
            #expect(tcp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    // scapy: IPv6(src='fd00:1::10',dst='fd00:2::20')/IPv6ExtHdrFragment(offset=154,m=1,id=0xabcdef01,nh=17)/Raw(b'\x00'*16)
    @Test func ipv6LaterFragment() throws {
        try withPacket(bytes("6000000000182c40fd000001000000000000000000000010fd000002000000000000000000000020110004d1abcdef0100000000000000000000000000000000")) { buffer in
            let ip = try IPv6Packet(buffer)
            #expect(ip.isFragment)
            #expect(ip.fragmentOffset == 154 * 8)
            #expect(ip.moreFragments)
            #expect(ip.fragmentIdentification == 0xABCD_EF01)
            #expect(!ip.carriesTransportHeader)
            #expect(ip.upperLayerProtocol == .udp)
            let dissection = try PacketDissection(etherType: .ipv6, bytes: buffer)
            guard case .fragment(.udp) = dissection.transport else {
                Issue.record("expected a UDP fragment, got \(dissection.transport)")
                return
            }
        }
    }

    // scapy: IP(src='10.0.1.10',dst='10.0.2.20',id=9)/ICMP(type=8,id=0x77,seq=3)/Raw(b'ping')
    @Test func icmpEchoRequest() throws {
        try withPacket(bytes("4500002000090000400163b70a00010a0a000214080018b50077000370696e67")) { buffer in
            let ip = try IPv4Packet(buffer)
            let icmp = try ICMPv4Message(ip.payload)
            #expect(icmp.type == 8 && icmp.code == 0)
            #expect(icmp.identifier == 0x77 && icmp.sequenceNumber == 3)
            #expect(icmp.checksumIsValid)
            #expect(!icmp.isError && icmp.quotedPacket == nil)
            #expect(Array(icmp.body) == Array("ping".utf8))
        }
    }

    // scapy: IP(src='10.0.0.1',dst='10.0.1.10')/ICMP(type=3,code=4,nexthopmtu=1400)/IP(src='10.0.1.10',dst='10.0.2.20',len=1500,flags='DF')/TCP(sport=40000,dport=80,seq=5)
    @Test func icmpFragmentationNeededQuotesTheTCPPacket() throws {
        try withPacket(bytes("4500004400010000400165ae0a0000010a00010a0304147000000578450005dc0001400040061dfe0a00010a0a0002149c400050000000050000000050022000d67b0000")) { buffer in
            let ip = try IPv4Packet(buffer)
            let icmp = try ICMPv4Message(ip.payload)
            #expect(icmp.type == 3 && icmp.code == 4)
            #expect(icmp.nextHopMTU == 1400)
            #expect(icmp.checksumIsValid)
            let quoted = try #require(icmp.quotedPacket)
            // The quoted header says 1500 bytes; only 40 are quoted, and the view accepts that.
            #expect(quoted.totalLength == 1500)
            #expect(quoted.availableLength == 40)
            #expect(quoted.source == IPv4Address("10.0.1.10"))
            #expect(quoted.destination == IPv4Address("10.0.2.20"))
            #expect(quoted.protocol == .tcp)
            let inner = try TCPSegment(quoted.payload)
            #expect(inner.sourcePort == 40000 && inner.destinationPort == 80 && inner.sequenceNumber == 5)
            // The same bytes are not a whole packet on their own.
            #expect(throws: WireError.truncated) { try IPv4Packet(icmp.body) }
        }
    }

    // scapy: IPv6(src='fd00::1',dst='fd00:1::10')/ICMPv6PacketTooBig(mtu=1280)/IPv6(src='fd00:1::10',dst='fd00:2::20',plen=1400)/UDP(sport=40002,dport=9000,len=1400)
    @Test func icmpv6PacketTooBigQuotesTheUDPPacket() throws {
        try withPacket(bytes("6000000000383a40fd000000000000000000000000000001fd000001000000000000000000000010020087da000005006000000005781140fd000001000000000000000000000010fd0000020000000000000000000000209c422328057840cf")) { buffer in
            let ip = try IPv6Packet(buffer)
            #expect(ip.upperLayerProtocol == .icmpv6)
            let icmp = try ICMPv6Message(ip.upperLayer)
            #expect(icmp.type == 2 && icmp.mtu == 1280)
            #expect(icmp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            let quoted = try #require(icmp.quotedPacket)
            #expect(quoted.payloadLength == 1400)
            #expect(quoted.upperLayerProtocol == .udp)
            #expect(quoted.destination == IPv6Address("fd00:2::20"))
            let ports = quoted.upperLayer
            #expect(ports.count == 8)
            #expect(UInt16(ports[0]) << 8 | UInt16(ports[1]) == 40002)
        }
    }

    // scapy: IPv6(src='fd00:1::10',dst='fd00:2::20')/ICMPv6EchoRequest(id=5,seq=6,data=b'hi')
    @Test func icmpv6EchoRequest() throws {
        try withPacket(bytes("60000000000a3a40fd000001000000000000000000000010fd00000200000000000000000000002080001d12000500066869")) { buffer in
            let ip = try IPv6Packet(buffer)
            let icmp = try ICMPv6Message(ip.upperLayer)
            #expect(icmp.type == 128 && icmp.identifier == 5 && icmp.sequenceNumber == 6)
            #expect(icmp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
            #expect(!icmp.isError)
        }
    }

    // scapy: IP(src='10.0.9.5',dst='10.0.9.100',id=0)/UDP(sport=51000,dport=6081)/GENEVE(vni=0x123,proto=0x0800,options=[GeneveOptions(classid=0x0108,type=1,data=b'\x00'*7+b'\x01'),GeneveOptions(classid=0x0108,type=0x83,data=b'\xc0\x0c\x1e\x00')])/IP(src='10.0.1.10',dst='8.8.8.8',id=0)/ICMP(id=1,seq=1)
    @Test func geneveWithOptionsCarryingIPv4() throws {
        try withPacket(bytes("4500005400000000401154310a0009050a000964c73817c1004065e9050008000001230001080102000000000000000101088301c00c1e004500001c0000000040015fc80a00010a080808080800f7fd00010001")) { buffer in
            let ip = try IPv4Packet(buffer)
            let udp = try UDPDatagram(ip.payload)
            #expect(udp.destinationPort == GENEVEHeader.udpPort)
            #expect(udp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum, ipv4: true))
            let geneve = try GENEVEHeader(udp.payload)
            #expect(geneve.version == 0)
            #expect(geneve.optionsLength == 20)
            #expect(geneve.headerLength == 28)
            #expect(!geneve.isOAM)
            #expect(geneve.protocolType == .ipv4)
            #expect(geneve.vni == 0x123)
            let options = Array(geneve.options)
            #expect(options.count == 2)
            #expect(options[0].optionClass == 0x0108 && options[0].type == 1 && !options[0].isCritical)
            #expect(Array(options[0].data) == [0, 0, 0, 0, 0, 0, 0, 1])
            #expect(options[1].type == 0x83 && options[1].isCritical)
            #expect(Array(options[1].data) == [0xC0, 0x0C, 0x1E, 0x00])
            let inner = try IPv4Packet(geneve.payload)
            #expect(inner.destination == IPv4Address(8, 8, 8, 8))
            #expect(inner.protocol == .icmp)
        }
    }

    // scapy: IP(src='10.40.1.4',dst='10.40.1.5',id=0,flags='DF',ttl=64)/UDP(sport=50000,dport=6081,chksum=0)/GENEVE(proto=0x0800,vni=0,options=[GeneveOptions(classid=0x0108,type=1,data=bytes.fromhex('0a1b2c3d4e5f6071')),GeneveOptions(classid=0x0108,type=2,data=bytes.fromhex('0000000000001122')),GeneveOptions(classid=0x0108,type=3,data=bytes.fromhex('cafef00d'))])/IP(src='10.20.1.4',dst='198.51.100.10',id=0)/TCP(sport=40000,dport=80,flags='S',seq=7,window=65535)
    // The 68 bytes a GWLB puts in front of a packet for an appliance (docs/aws-behaviour.md §6).
    @Test func gwlbTunnelHeaderAsAWSWritesIt() throws {
        let expected = bytes("4500006c00004000401124290a2801040a280105c35017c1005800000800080000000000010801020a1b2c3d4e5f607101080202000000000000112201080301cafef00d45000028000000004006457b0a140104c633640a9c40005000000007000000005002ffffddf50000")
        let inner = Array(expected[GWLBTunnel.overhead...])
        var written = [UInt8](repeating: 0, count: GWLBTunnel.overhead) + inner
        let options = GWLBOptions(endpointID: 0x0a1b_2c3d_4e5f_6071, attachmentID: 0x1122, cookie: 0xcafe_f00d)
        written.withUnsafeMutableBytes {
            GWLBTunnel.writeOuter(at: $0.baseAddress!, source: IPv4Address(10, 40, 1, 4), destination: IPv4Address(10, 40, 1, 5),
                                  sourcePort: 50000, innerLength: inner.count, innerIsIPv6: false, options: options)
        }
        #expect(written == expected)
        try withPacket(expected) { buffer in
            let ip = try IPv4Packet(buffer)
            let geneve = try GENEVEHeader(try UDPDatagram(ip.payload).payload)
            #expect(geneve.gwlbOptions == options)
        }
        // Options in another order read the same; one missing, or of the wrong length, none.
        var reordered = expected
        reordered.replaceSubrange(36..<68, with: expected[60..<68] + expected[36..<60])
        try withPacket(reordered) { buffer in
            let geneve = try GENEVEHeader(try UDPDatagram(try IPv4Packet(buffer).payload).payload)
            #expect(geneve.gwlbOptions == options)
        }
        var missing = expected
        missing[62] = 4
        try withPacket(missing) { buffer in
            let geneve = try GENEVEHeader(try UDPDatagram(try IPv4Packet(buffer).payload).payload)
            #expect(geneve.gwlbOptions == nil, "no cookie (type 3)")
        }
    }

    // scapy: CookedLinux(pkttype=0,lladdrtype=1,lladdrlen=6,src=b'\x02\x00\x00\x00\x00\x01\x00\x00',proto=0x0800)/IP(src='10.0.1.10',dst='10.0.0.2',id=0)/UDP(sport=53000,dport=53)
    @Test func linuxCookedV1() throws {
        try withPacket(bytes("000000010006020000000001000008004500001c00000000401165c60a00010a0a000002cf08003500081b95")) { buffer in
            let packet = try PacketDissection(linkType: .linuxSLL, bytes: buffer)
            #expect(packet.link?.networkOffset == 16)
            guard case .ipv4(let ip) = packet.network, case .udp(let udp) = packet.transport else {
                Issue.record("expected IPv4 UDP")
                return
            }
            #expect(ip.destination == IPv4Address(10, 0, 0, 2))
            #expect(udp.sourcePort == 53000 && udp.destinationPort == 53)
        }
    }

    // scapy: CookedLinuxV2(proto=0x86dd,ifindex=2,lladdrtype=1,pkttype=4,lladdrlen=6,src=b'\x02\x00\x00\x00\x00\x01\x00\x00')/IPv6(src='fd00:1::10',dst='fd00:2::20')/ICMPv6EchoRequest(id=1,seq=1)
    @Test func linuxCookedV2() throws {
        try withPacket(bytes("86dd0000000000020001040602000000000100006000000000083a40fd000001000000000000000000000010fd0000020000000000000000000000208000858600010001")) { buffer in
            let packet = try PacketDissection(linkType: .linuxSLL2, bytes: buffer)
            #expect(packet.link?.networkOffset == 20)
            guard case .ipv6(let ip) = packet.network, case .icmpv6(let icmp) = packet.transport else {
                Issue.record("expected IPv6 ICMPv6")
                return
            }
            #expect(ip.source == IPv6Address("fd00:1::10"))
            #expect(icmp.type == 128)
            #expect(icmp.checksumIsValid(pseudoHeaderSum: ip.pseudoHeaderSum))
        }
    }

    @Test func rawIPLinkTypeFollowsTheVersionNibble() throws {
        try withPacket(bytes("4500002000090000400163b70a00010a0a000214080018b50077000370696e67")) { buffer in
            let packet = try PacketDissection(linkType: .rawIP, bytes: buffer)
            guard case .icmpv4 = packet.transport else {
                Issue.record("expected ICMP")
                return
            }
        }
        #expect(LinkType(dlt: 12) == .rawIP)
        #expect(LinkType(dlt: 14) == .rawIP)
        #expect(LinkType(dlt: 101) == .rawIP)
        #expect(LinkType(dlt: 113) == .linuxSLL)
        #expect(LinkType(dlt: 276) == .linuxSLL2)
        #expect(LinkType(dlt: 105) == nil)
    }
}
