import Testing
import PacketWire
import Topology

@Suite("Split-horizon DNS view")
struct DNSViewTests {
    static let topology = Topology.load(yaml: Topology.defaultYAML).topology!
    static let view = DNSView(topology)
    static let consumer = topology.vpcs.firstIndex { $0.name == "consumer" }!
    static let provider = topology.vpcs.firstIndex { $0.name == "provider" }!

    @Test func privateDNSNameInsideTheConsumerVPC() {
        let endpoint = Self.topology.endpoints[0]
        let addresses = endpoint.interfaces.map { Self.topology[$0] }
        #expect(Self.view.resolve("api.privet.example", type: .a, from: Self.consumer) == .ipv4(addresses.compactMap(\.ipv4)))
        #expect(Self.view.resolve("API.privet.example.", type: .aaaa, from: Self.consumer) == .ipv6(addresses.compactMap(\.ipv6)))
    }

    @Test func theSameNameOutsideGetsThePublicAnswer() {
        #expect(Self.view.resolve("api.privet.example", type: .a, from: nil) == .ipv4([IPv4Address(203, 0, 113, 10)]))
        #expect(Self.view.resolve("api.privet.example", type: .a, from: Self.provider) == .ipv4([IPv4Address(203, 0, 113, 10)]))
    }

    @Test func regionalAndZonalNamesResolveEverywhereToPrivateAddresses() {
        let endpoint = Self.topology.endpoints[0]
        let regional = endpoint.dnsNames[0].name
        let zonal = endpoint.dnsNames[1]
        let all = endpoint.interfaces.compactMap { Self.topology[$0].ipv4 }
        #expect(Self.view.resolve(regional, type: .a, from: nil) == .ipv4(all))
        let inZone = endpoint.interfaces.map { Self.topology[$0] }.filter { Self.topology[$0.subnet].zone == zonal.zone! }
        #expect(Self.view.resolve(zonal.name, type: .a, from: Self.consumer) == .ipv4(inZone.compactMap(\.ipv4)))
        #expect(inZone.count == 1)
    }

    @Test func aPrivateZoneWithoutTheNameIsNXDOMAINWithoutFallback() {
        let yaml = Topology.defaultYAML.replacingOccurrences(of: "hostedZones:\n", with: """
            hostedZones:
              - name: privet.example
                private: true
                vpcs: [provider]
                records:
                  - {name: db.privet.example, type: A, values: [10.10.1.200]}
                  - {name: www.privet.example, type: CNAME, values: [db.privet.example]}

            """)
        let topology = Topology.load(yaml: yaml).topology!
        let view = DNSView(topology)
        #expect(view.resolve("db.privet.example", type: .a, from: Self.provider) == .ipv4([IPv4Address(10, 10, 1, 200)]))
        #expect(view.resolve("www.privet.example", type: .a, from: Self.provider) == .ipv4([IPv4Address(10, 10, 1, 200)]))
        // The public zone has api.privet.example; the private zone shadows it for this VPC.
        #expect(view.resolve("api.privet.example", type: .a, from: Self.provider) == .nxdomain)
        #expect(view.resolve("db.privet.example", type: .aaaa, from: Self.provider) == .noData)
        #expect(view.resolve("db.privet.example", type: .a, from: nil) == .nxdomain)
    }

    @Test func loadBalancerNamesAndUnknownNames() {
        let nlb = Self.topology.loadBalancers[0]
        #expect(Self.view.resolve(nlb.dnsName, type: .a, from: nil) == .ipv4(nlb.nodes.compactMap { Self.topology[$0.interface].ipv4 }))
        #expect(Self.view.resolve("nothing.example", type: .a, from: Self.consumer) == .nxdomain)
    }
}
