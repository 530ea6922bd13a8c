import Testing
import ReferenceAppliance
import PacketWire
import Topology
import TestSupport

@Suite("Reference appliance")
struct ApplianceTests {
    func inspect(_ inspector: ApplianceInspector, _ datagram: [UInt8]) -> ApplianceInspector.Verdict {
        var bytes = datagram
        return bytes.withUnsafeMutableBytes { inspector.inspect($0) }
    }

    @Test func returnsAWellFormedDatagramAndDropsByRule() {
        let inspector = ApplianceInspector(drops: [ApplianceRule("tcp:23")!], counts: [ApplianceRule("tcp")!])
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
        #expect(ApplianceRule("UDP:53")?.description == "udp:53")
        #expect(ApplianceRule("icmpv6")?.description == "icmpv6")
        #expect(ApplianceRule("icmp:8") == nil)
        #expect(ApplianceRule("tcp:http") == nil)
        #expect(ApplianceRule("sctp") == nil)
    }
}
