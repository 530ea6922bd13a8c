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

    /// A session's records: one per ENI it crossed and direction, each as the packets read at
    /// that ENI, which way they went there, the TCP flags each direction carried and the way
    /// egress traffic left.
    @Test func flowRecordsNameEachENIAndDirection() {
        let h = Harness()
        let (syn, natPort) = EndpointPathTests.open(h, at: 10)
        #expect(syn.port != nil)
        let node = h.nodeENI("web-nlb", zone: "us-east-1a")
        _ = h.send(Packets.tcp(h.ipv4("web-a"), 80, node.ipv4!, natPort, [.syn, .ack], seq: 5, ack: 1001), from: h.port("web-a"), at: 11)
        var records: [FlowRecord] = []
        h.dataplane.endAllSessions(now: 20_000_000_000) { records.append($0) }
        // Forward: client, endpoint, node, target ENIs; reverse: the same four.
        #expect(records.count == 8)
        let client = h.host("client-a"), endpoint = h.endpointENI("web-endpoint", zone: "us-east-1a"), target = h.host("web-a")
        func index(_ id: String) -> Int { h.tables.interfaces.firstIndex { $0.id == id }! }
        let first = records[0]
        #expect(first.interface == index(client.id) && first.direction == .egress && first.trafficPath == .sameVPC)
        #expect(first.key.source == FlowAddress(client.ipv4!) && first.key.destination == FlowAddress(endpoint.ipv4!))
        #expect(first.key.sourcePort == 40000 && first.key.destinationPort == 80 && first.key.proto == 6)
        #expect(first.packets == 1 && first.bytes == 40 && first.tcpFlags == 2 && first.accepted)
        #expect(first.start == 10_000_000_000 && first.end == 11_000_000_000, "from the first packet to the last of the session")
        #expect(records.map(\.direction) == [.egress, .ingress, .egress, .ingress, .egress, .egress, .ingress, .ingress])
        #expect(records.map(\.interface) == [client.id, endpoint.id, node.id, target.id, target.id, endpoint.id, node.id, client.id].map(index))
        #expect(records.map(\.tcpFlags) == [2, 2, 2, 2, 18, 18, 18, 18], "SYN, then SYN-ACK")
        #expect(records.filter { $0.direction == .ingress }.allSatisfy { $0.trafficPath == FlowRecord.TrafficPath.none })
        // The target's ENI sees the NLB node's address as the source.
        #expect(records[3].key.source == FlowAddress(node.ipv4!) && records[3].key.sourcePort == natPort)
    }

    @Test func reportedTCPFlagsAreAWSs() {
        func reported(_ flags: TCPFlags...) -> UInt8 {
            FlowLogTCPFlags.value(flags.reduce(0) { $0 | FlowLogTCPFlags.bits($1.rawValue) })
        }
        #expect(reported(.syn) == 2 && reported([.syn, .ack]) == 18 && reported(.rst) == 4 && reported(.fin) == 1)
        #expect(reported(.ack) == 0 && reported([.psh, .ack]) == 0, "ACK and PSH are not reported")
        #expect(reported(.syn, .fin) == 3 && reported([.syn, .ack], [.fin, .ack]) == 19, "OR-ed over the interval")
        let packet = Packets.tcp(IPv4Address(10, 0, 0, 1), 1, IPv4Address(10, 0, 0, 2), 2, [.rst, .ack])
        #expect(packet.withUnsafeBytes { FlowLogTCPFlags.value(FlowLogTCPFlags.bits(ofIPPacket: $0)) } == 4)
        let datagram = Packets.udp(IPv4Address(10, 0, 0, 1), 1, IPv4Address(10, 0, 0, 2), 2)
        #expect(datagram.withUnsafeBytes { FlowLogTCPFlags.bits(ofIPPacket: $0) } == 0)
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
