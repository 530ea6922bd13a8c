import Testing
import Dataplane
import DataplaneFixtures
import PacketWire
import Topology

@Suite("Reload and flow records")
struct ReloadAndRecordsTests {
    static let withThirdTarget = Topology.defaultYAML
        .replacingOccurrences(of: "  - {name: web-b, subnet: provider-b, securityGroups: [web], server: {protocol: http, port: 80}}\n",
                              with: "  - {name: web-b, subnet: provider-b, securityGroups: [web], server: {protocol: http, port: 80}}\n  - {name: web-c, subnet: provider-a, securityGroups: [web], server: {protocol: http, port: 80}}\n")
        .replacingOccurrences(of: "targets: [{host: web-a}, {host: web-b}]", with: "targets: [{host: web-a}, {host: web-b}, {host: web-c}]")

    @Test func flowsWhoseTargetRemainsSurviveAReload() throws {
        let h = Harness()
        let (syn, natPort) = EndpointPathTests.open(h)
        #expect(syn.port == h.port("web-a"))
        // Adding a target (and a host, so every port number after it moves) keeps the flow.
        let reloaded = try #require(Topology.load(yaml: Self.withThirdTarget).topology).forwardingTables()
        #expect(h.dataplane.replaceTables(reloaded) == 0)
        let webA = reloaded.ports.firstIndex { $0.name == "web-a" }!
        let clientA = reloaded.ports.firstIndex { $0.name == "client-a" }!
        #expect(clientA != h.port("client-a"), "the reload renumbered ports")
        let endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a").ipv4!
        let next = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 1), from: clientA)
        #expect(next.port == webA)
        #expect(Seen(next.bytes).sourcePort == natPort, "the same source port")
        #expect(h.dataplane.counters.endpoints[0].packets == 2, "counters carried over")
        // Deregistering web-a: its established flow goes on (connection termination on
        // deregistration is off by default, docs/aws-behaviour.md §2); new flows avoid it.
        let without = Topology.defaultYAML.replacingOccurrences(of: "targets: [{host: web-a}, {host: web-b}]", with: "targets: [{host: web-b}]")
        let third = try #require(Topology.load(yaml: without).topology).forwardingTables()
        #expect(h.dataplane.replaceTables(third) == 0)
        let clientNow = third.ports.firstIndex { $0.name == "client-a" }!
        let again = h.send(Packets.tcp(h.ipv4("client-a"), 40000, endpoint, 80, .ack, seq: 1001, ack: 1), from: clientNow)
        #expect(again.port == third.ports.firstIndex { $0.name == "web-a" })
        #expect(Seen(again.bytes).sourcePort == natPort)
        // Zone a has no target left: a new flow there finds none.
        let fresh = h.send(Packets.tcp(h.ipv4("client-a"), 40001, endpoint, 80, .syn), from: clientNow)
        #expect(fresh.drop == .noTarget)
    }

    /// Flow logs in the default version 2 format, one record per ENI per direction.
    @Test func flowRecordsAreVPCFlowLogsVersion2() {
        let h = Harness()
        let (syn, natPort) = EndpointPathTests.open(h, at: 10)
        #expect(syn.port != nil)
        let node = h.nodeENI("web-nlb", zone: "us-east-1a").ipv4!
        _ = h.send(Packets.tcp(h.ipv4("web-a"), 80, node, natPort, [.syn, .ack], seq: 5, ack: 1001), from: h.port("web-a"), at: 11)
        var lines: [String] = []
        h.dataplane.endAllSessions(now: 20_000_000_000) { lines.append($0.line(tables: h.tables)) }
        // Forward: client, endpoint, node, target ENIs; reverse: the same four.
        #expect(lines.count == 8)
        let client = h.host("client-a"), endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a")
        let first = lines[0].split(separator: " ").map(String.init)
        #expect(first.count == 14)
        #expect(first[0] == "2")
        #expect(first[1] == "222222222222")
        #expect(first[2] == client.id)
        #expect(first[3] == client.ipv4!.description && first[4] == endpoint.ipv4!.description)
        #expect(first[5] == "40000" && first[6] == "80" && first[7] == "6")
        #expect(first[8] == "1" && first[9] == "40")
        #expect(first[10] == "10" && first[11] == "11", "from the first packet to the last of the session")
        #expect(first[12] == "ACCEPT" && first[13] == "OK")
        // The target's ENI sees the NLB node's address as the source.
        let target = h.host("web-a")
        let atTarget = lines.first { $0.contains(" \(target.id) \(node) ") }
        #expect(atTarget != nil, "\(lines)")
    }
}

extension ReloadAndRecordsTests {
    /// A reload that renumbers every port keeps a GWLB flow in its tunnel (same appliance,
    /// source port and cookie); returns from the appliance still match it.
    @Test func tunnelledFlowsSurviveAReload() throws {
        let h = Harness()
        let client = h.ipv4("client-a"), internet = IPv4Address(198, 51, 100, 10)
        let syn = h.send(Packets.tcp(client, 40000, internet, 80, .syn), from: h.port("client-a"))
        #expect(syn.port == h.port("appliance-a"))
        let reloaded = try #require(Topology.load(yaml: Self.withThirdTarget).topology).forwardingTables()
        #expect(h.dataplane.replaceTables(reloaded) == 0)
        func port(_ name: String) -> Int { reloaded.ports.firstIndex { $0.name == name }! }
        #expect(port("appliance-a") != h.port("appliance-a"), "the reload renumbered ports")
        let data = h.send(Packets.tcp(client, 40000, internet, 80, .ack, seq: 1001), from: port("client-a"))
        #expect(data.port == port("appliance-a"))
        #expect(Tunnelled(data.bytes).options == Tunnelled(syn.bytes).options)
        #expect(Tunnelled(data.bytes).sourcePort == Tunnelled(syn.bytes).sourcePort)
        let back = h.send(Tunnelled.returned(data.bytes), from: port("appliance-a"))
        #expect(back.port == port("igw-consumer"))
    }

    /// An inspected flow's records: at the client's ENI and at the GWLB endpoint's.
    @Test func tunnelledFlowsAreLoggedAtTheEndpoint() {
        let h = Harness()
        let syn = h.send(Packets.tcp(h.ipv4("client-a"), 40000, IPv4Address(198, 51, 100, 10), 80, .syn), from: h.port("client-a"))
        #expect(syn.port != nil)
        var records: [FlowRecord] = []
        h.dataplane.endAllSessions(now: 10_000_000_000) { records.append($0) }
        let gwlbe = h.topology.endpoints.first { $0.name == "inspection-endpoint" }!
        let eniIDs = records.map { h.tables.interfaces[$0.interface].id }
        #expect(eniIDs.contains(h.host("client-a").id))
        #expect(eniIDs.contains(h.topology[gwlbe.interfaces[0]].id))
    }
}
