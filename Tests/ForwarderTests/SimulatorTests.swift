import Testing
import Dataplane
import Forwarder
import PacketIO
import PacketWire
import TestSupport
import Topology

@Suite("Simulated hosts")
struct SimulatorTests {
    static let topology = Topology.load(yaml: Topology.defaultYAML).topology!

    @Test func clientsReachTheServiceByItsPrivateDNSNameThroughBothZones() {
        let simulator = TrafficSimulator(topology: Self.topology, seed: 1)
        for index in 0..<40 {
            simulator.add(SimulatedConnection(client: index % 2 == 0 ? "client-a" : "client-b",
                                              destination: "api.privet.example", port: 80, start: Double(index) * 0.01))
        }
        simulator.run()
        let servers = simulator.outcomes.map { outcome -> String in
            if case .completed(let server) = outcome { return server }
            return "\(outcome)"
        }
        #expect(Set(servers) == ["web-a in us-east-1a", "web-b in us-east-1b"], "\(servers)")
        #expect(simulator.dataplane.counters.totalDrops == 0)
        // Every connection closed: no session is left but those lingering.
        #expect(simulator.dataplane.flows.count <= 40)
    }

    @Test func failuresAreReportedWithTheirReasons() {
        let simulator = TrafficSimulator(topology: Self.topology, seed: 2)
        let partner = simulator.add(SimulatedConnection(client: "partner-client", destination: "api.privet.example", port: 80, start: 0))
        let s3 = simulator.add(SimulatedConnection(client: "client-a", destination: "52.216.10.10", port: 80, start: 0))
        let closed = simulator.add(SimulatedConnection(client: "web-a", destination: "web-b", port: 80, start: 0))
        let nowhere = simulator.add(SimulatedConnection(client: "client-a", destination: "nothing.example", port: 80, start: 0))
        var udp = SimulatedConnection(client: "web-b", destination: "10.10.1.4", port: 9, start: 0)
        udp.transport = .udp
        let lost = simulator.add(udp)
        simulator.run()
        #expect(simulator.outcomes[partner] == .refused(.endpointRejected))
        #expect(simulator.outcomes[s3] == .completed(server: "s3 in com.amazonaws.us-east-1.s3"))
        #expect(simulator.outcomes[closed] == .unresolved("web-b"))
        #expect(simulator.outcomes[nowhere] == .unresolved("nothing.example"))
        #expect(simulator.outcomes[lost] == .refused(.securityGroupIngress))
    }

    /// The capture of what the hosts sent replays to the same decisions.
    @Test func aGeneratedCaptureReplaysTheSame() throws {
        let folder = try ScratchFolder()
        defer { folder.cleanUp() }
        let path = folder.file("gen.pcap")
        let writer = try CaptureWriter(path: path, linkType: .rawIP)
        let simulator = TrafficSimulator(topology: Self.topology, seed: 3, capture: writer)
        for index in 0..<100 {
            simulator.add(SimulatedConnection(client: index % 3 == 0 ? "client-b" : "client-a", destination: "api.privet.example",
                                              port: 80, start: Double(index) * 0.001))
        }
        simulator.run()
        try writer.close()
        let (report, _) = try Replay(topology: Self.topology, options: Replay.Options(input: path, output: folder.file("out"))).run()
        #expect(report.input.packets == UInt64(simulator.packetsSent))
        #expect(report.dropped.packets == 0, "\(report.drops)")
        #expect(report.forwarded.packets == UInt64(simulator.packetsSent))
        #expect(report.targets.reduce(0) { $0 + $1.flows } == 100)
    }
}
