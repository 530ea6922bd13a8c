import Testing
import Forwarder
import PacketWire

/// A GENEVE datagram as a GWLB sends it: AWS's three options around an inner packet.
func gwlbDatagram(inner: [UInt8], protocolType: EtherType = .ipv4, options: [GENEVEOptionFields]? = nil) -> [UInt8] {
    var fields = GENEVEFields(protocolType: protocolType)
    fields.options = options ?? [
        GENEVEOptionFields(optionClass: 0x0108, type: 1, data: [0, 0x0a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56]),
        GENEVEOptionFields(optionClass: 0x0108, type: 2, data: [0, 0, 0, 0, 0, 0, 0x11, 0x22]),
        GENEVEOptionFields(optionClass: 0x0108, type: 3, data: [0xca, 0xfe, 0xf0, 0x0d]),
    ]
    var bytes = [UInt8](repeating: 0, count: fields.headerLength)
    _ = bytes.withUnsafeMutableBytes { PacketBuilder.geneve(fields, into: $0) }
    return bytes + inner
}

func innerTCP(port: UInt16) -> [UInt8] {
    PacketBuilder.ipv4Packet(IPv4Fields(source: IPv4Address(10, 20, 1, 4), destination: IPv4Address(198, 51, 100, 10)),
                             .tcp(TCPFields(sourcePort: 40000, destinationPort: port, flags: .syn)))
}

@Suite("Reference appliance")
struct ApplianceTests {
    func inspect(_ inspector: ApplianceInspector, _ datagram: [UInt8]) -> ApplianceInspector.Verdict {
        var bytes = datagram
        return bytes.withUnsafeMutableBytes { inspector.inspect($0) }
    }

    @Test func returnsAWellFormedDatagramAndDropsByRule() {
        let inspector = ApplianceInspector(drops: [ApplianceInspector.Rule("tcp:23")!], counts: [ApplianceInspector.Rule("tcp")!])
        #expect(inspect(inspector, gwlbDatagram(inner: innerTCP(port: 80))) == .returned)
        #expect(inspect(inspector, gwlbDatagram(inner: innerTCP(port: 23))) == .dropped(rule: 0))
        let udp = PacketBuilder.ipv6Packet(IPv6Fields(source: IPv6Address("fd00::1")!, destination: IPv6Address("2001:db8::10")!),
                                           .udp(UDPFields(sourcePort: 5000, destinationPort: 23)))
        #expect(inspect(inspector, gwlbDatagram(inner: udp, protocolType: .ipv6)) == .returned, "udp:23 is not tcp:23")
        #expect(inspector.summary == "returned 2, invalid 0, dropped tcp:23 1, counted tcp 2")
    }

    @Test func refusesWhatAGWLBWouldNotSend() {
        let inspector = ApplianceInspector()
        let twoOptions = [GENEVEOptionFields(optionClass: 0x0108, type: 1, data: [UInt8](repeating: 1, count: 8)),
                          GENEVEOptionFields(optionClass: 0x0108, type: 3, data: [1, 2, 3, 4])]
        #expect(inspect(inspector, gwlbDatagram(inner: innerTCP(port: 80), options: twoOptions))
                == .invalid("AWS options (class 0x0108, types 1-3) missing"))
        #expect(inspect(inspector, gwlbDatagram(inner: innerTCP(port: 80), protocolType: EtherType(rawValue: 0x6558)))
                == .invalid("inner protocol 0x6558 is neither IPv4 nor IPv6"))
        #expect(inspect(inspector, gwlbDatagram(inner: [0x45, 0, 0])) == .invalid("inner IPv4 packet malformed"))
        #expect(inspect(inspector, [1, 2, 3]) == .invalid("not a GENEVE header"))
        #expect(inspector.summary == "returned 0, invalid 4")
    }

    @Test func rulesParseOrRefuse() {
        #expect(ApplianceInspector.Rule("UDP:53")?.description == "udp:53")
        #expect(ApplianceInspector.Rule("icmpv6")?.description == "icmpv6")
        #expect(ApplianceInspector.Rule("icmp:8") == nil)
        #expect(ApplianceInspector.Rule("tcp:http") == nil)
        #expect(ApplianceInspector.Rule("sctp") == nil)
    }
}
