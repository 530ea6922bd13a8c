import Dataplane
import Foundation
import PacketIO
import PacketWire
import Topology

/// `privet demo`: the default topology end to end, in memory, with no root and no setup.
/// Simulated clients reach the web service by its private DNS name through both zones; a target
/// turns unhealthy halfway; clients reach the internet through the GWLB's appliance; and the
/// cases AWS refuses are tried: a provider-initiated connection, a client behind the endpoint
/// the provider rejected, IPv6 from the internet to an endpoint, an oversize packet, a flow an
/// appliance tries to start. The capture of what the hosts sent is then replayed, leaving
/// captures per port, the drops, a flow log and a report in the output folder.
public enum Demo {
    public struct Result: Sendable {
        public var text: String
        public var replay: ReplayReport
        public var timing: ReplayTiming
    }

    /// Connections through the endpoint, and when web-a turns unhealthy (seconds).
    static let connections = 24
    static let unhealthyAt = 1.2
    /// Connections to the internet server, inspected by the GWLB's appliance on the way.
    static let inspected = 4
    static let internetServer = "198.51.100.10"
    /// Connections to the S3 stand-in, through the gateway endpoint.
    static let toS3 = 2
    static let s3 = "52.216.10.10"

    public static func run(output: String) throws(ForwarderError) -> Result {
        let topology = Topology.load(yaml: Topology.defaultYAML).topology!
        let sent = output + "/sent.pcap"
        do { try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true) } catch {
            throw ForwarderError(description: "\(output): cannot create the folder: \(error.localizedDescription)")
        }
        let writer: CaptureWriter
        do { writer = try CaptureWriter(path: sent, linkType: .rawIP) } catch { throw ForwarderError(error) }
        let simulator = TrafficSimulator(topology: topology, seed: 2026, capture: writer)

        for index in 0..<connections {
            simulator.add(SimulatedConnection(client: index % 2 == 0 ? "client-a" : "client-b", destination: "api.privet.example",
                                              port: 80, start: 0.1 * Double(index)))
        }
        simulator.schedule(at: unhealthyAt) { dataplane in
            if let target = dataplane.tables.targets.firstIndex(where: { $0.name == "web-a:80" }) {
                dataplane.setTargetHealth(target, healthy: false)
            }
        }
        for index in 0..<inspected {
            simulator.add(SimulatedConnection(client: index % 2 == 0 ? "client-a" : "client-b", destination: internetServer,
                                              port: 80, start: 0.15 + 0.3 * Double(index)))
        }
        for index in 0..<toS3 {
            simulator.add(SimulatedConnection(client: index % 2 == 0 ? "client-a" : "client-b", destination: s3, port: 80,
                                              start: 0.25 + 0.3 * Double(index)))
        }
        let partner = simulator.add(SimulatedConnection(client: "partner-client", destination: "api.privet.example", port: 80, start: 0.5))
        // The provider's target tries to open a connection to the NLB's address.
        let node = topology.loadBalancers[0].nodes.map { topology[$0.interface] }.first { topology[$0.subnet].zone.index == 0 }!
        let web = host("web-a", topology)
        simulator.inject(tcp(web.ipv4!.description, 45000, node.ipv4!.description, 45000, payload: 0), from: "web-a", at: 0.6)
        // An internet host tries the endpoint's IPv6 address through the internet gateway.
        let endpointENI = topology.endpoints[0].interfaces.map { topology[$0] }.first { topology[$0.subnet].zone.index == 0 }!
        simulator.inject(tcp("2001:db8::10", 45001, endpointENI.ipv6!.description, 80, payload: 0), from: "internet-server", at: 0.7)
        // A client sends a 9000-byte packet to the endpoint (its MTU is 8500).
        let client = host("client-a", topology)
        simulator.inject(tcp(client.ipv4!.description, 45002, endpointENI.ipv4!.description, 80, payload: 8960), from: "client-a", at: 0.8)
        // An appliance sends GENEVE to its GWLB node around a flow the GWLB never sent it.
        let (applianceAddress, gwlbNode, stray) = strayFromAppliance(topology)
        simulator.inject(stray, from: "appliance-b", at: 0.9)
        simulator.run()
        do { try writer.close() } catch { throw ForwarderError(error) }

        var options = Replay.Options(input: sent, output: output)
        options.events = [ReplayEvent(time: Int64(unhealthyAt * 1e9), action: .targetUnhealthy, subject: "web-targets/web-a", line: 0)]
        let (report, timing) = try Replay(topology: topology, options: options).run()
        do {
            try replaceFile(output + "/report.txt", with: report.text)
            try replaceFile(output + "/report.json", with: report.json)
        } catch { throw ForwarderError(error) }

        var lines = ["Privet demo: the default topology (privet describe --default), simulated in memory", ""]
        lines.append("\(connections) connections to api.privet.example:80, the private DNS name of web-endpoint,")
        lines.append("resolved in VPC consumer to the endpoint's ENIs in us-east-1a and us-east-1b:")
        let zoneOf = Dictionary(uniqueKeysWithValues: topology.endpoints[0].interfaces.compactMap { ref -> (String, String)? in
            let eni = topology[ref]
            guard let address = eni.ipv4 else { return nil }
            return (address.description, topology.zones[topology[eni.subnet].zone.index].name)
        })
        func line(_ index: Int, zone: String) -> String {
            let connection = simulator.connections[index]
            let result: String
            switch simulator.outcomes[index] {
            case .completed(let server): result = "served by \(server)"
            case .refused(let reason): result = "refused: \(reason.name)"
            case .reset: result = "reset"
            case .unresolved(let name): result = "\(name) did not resolve"
            case .noAnswer, .pending: result = "no answer"
            }
            let time = String(format: "%4.1f s", connection.start)
            return "  \(time)  \(connection.client) -> \(simulator.resolved[index] ?? "?") (\(zone))  \(result)"
        }
        for index in 0..<connections {
            lines.append(line(index, zone: zoneOf[simulator.resolved[index] ?? ""] ?? "?"))
        }
        lines.append("  at \(unhealthyAt) s web-a turned unhealthy: us-east-1a has no healthy target left, and the NLB")
        lines.append("  fails open there (AWS routes to every target of a zone below its threshold of one healthy")
        lines.append("  target), so that zone's connections still reach web-a.")
        lines.append("")
        lines.append("\(inspected) connections to the internet server \(internetServer):80, inspected on the way: route 0.0.0.0/0")
        lines.append("leads to the GWLB endpoint in us-east-1a, whose GWLB node sends each packet to an appliance of")
        lines.append("its zone over GENEVE (UDP 6081, AWS's options); the appliance returns it and it goes on to the")
        lines.append("internet gateway; replies come back through the gateway's edge route and the same appliance:")
        for index in connections..<(connections + inspected) { lines.append(line(index, zone: "internet")) }
        let appliances = report.targets.filter { $0.flows > 0 && $0.target.hasSuffix(":6081") }
        lines.append("  inspected by " + appliances.map { "\($0.target.dropLast(5)) in \($0.zone) (\($0.flows) flows, \($0.packets) packets)" }
            .joined(separator: ", "))
        lines.append("")
        lines.append("\(toS3) connections to S3 (\(s3):80): the prefix list's route of the gateway endpoint, longer than")
        lines.append("0.0.0.0/0, takes them to the service's network, their private source addresses kept:")
        let s3Connections = (connections + inspected)..<(connections + inspected + toS3)
        for index in s3Connections { lines.append(line(index, zone: "com.amazonaws.us-east-1.s3")) }
        lines.append("")
        lines.append("Refused, as AWS refuses them:")
        var partnerResult = "not refused!"
        if case .refused(let reason) = simulator.outcomes[partner] { partnerResult = reason.name }
        let drops = report.drops
        func dropped(_ reason: String) -> String { drops[reason] != nil ? reason : "not refused!" }
        for (what, result) in [
            ("partner-client -> api.privet.example, through the endpoint the provider rejected", partnerResult),
            ("web-a -> NLB node \(node.ipv4!), a connection started by the provider", dropped("provider-initiated")),
            ("internet 2001:db8::10 -> \(endpointENI.ipv6!), IPv6 through the internet gateway", dropped("deny-all-igw-traffic")),
            ("client-a -> \(endpointENI.ipv4!), a 9000-byte packet (the endpoint's MTU is 8500)", dropped("endpoint-oversize")),
            ("appliance-b \(applianceAddress) -> GWLB node \(gwlbNode), GENEVE around a flow it was never sent", dropped("appliance-initiated")),
        ] {
            lines.append("  " + what.padding(toLength: 92, withPad: " ", startingAt: 0) + result)
        }
        lines.append("")
        lines.append("Replay of what the hosts sent: \(report.input.packets) packets, \(report.forwarded.packets) forwarded, \(report.dropped.packets) dropped; "
                     + String(format: "%.0f packets/s", timing.packetsPerSecond))
        let perTarget = report.targets.filter { $0.flows > 0 }.map { "\($0.target) in \($0.zone): \($0.flows) flows" }
        lines.append("Flows by target: " + perTarget.joined(separator: ", "))
        lines.append("")
        lines.append("Files in \(output):")
        lines.append("  sent.pcap (what every host sent), one capture per port (client-a.pcap, web-a.pcap, ...),")
        lines.append("  dropped.pcap with dropped.csv (each drop's reason), flow-log.txt (VPC Flow Logs v2), report.txt")
        lines.append("Look at them with: tshark -r \(output)/web-a.pcap")
        return Result(text: lines.joined(separator: "\n") + "\n", replay: report, timing: timing)
    }

    /// GENEVE from appliance-b to its GWLB node, with the endpoint's options, around a SYN the
    /// GWLB never sent: its address, the node's, and the packet.
    static func strayFromAppliance(_ topology: Topology) -> (IPv4Address, IPv4Address, [UInt8]) {
        let appliance = host("appliance-b", topology)
        let gwlb = topology.loadBalancers.first { $0.kind == .gateway }!
        let node = gwlb.nodes.map { topology[$0.interface] }.first { $0.subnet == appliance.subnet }!
        let endpoint = topology.endpoints.first { $0.kind == .gatewayLoadBalancer }!
        let inner = tcp(host("client-b", topology).ipv4!.description, 45003, internetServer, 22, payload: 0)
        var packet = [UInt8](repeating: 0, count: GWLBTunnel.overhead) + inner
        packet.withUnsafeMutableBytes {
            GWLBTunnel.writeOuter(at: $0.baseAddress!, source: appliance.ipv4!, destination: node.ipv4!, sourcePort: 50000,
                                  innerLength: inner.count, innerIsIPv6: false,
                                  options: GWLBOptions(endpointID: endpoint.tunnelOptions.endpointID,
                                                       attachmentID: endpoint.tunnelOptions.attachmentID, cookie: 0x1234_5678))
        }
        return (appliance.ipv4!, node.ipv4!, packet)
    }

    static func host(_ name: String, _ topology: Topology) -> NetworkInterface {
        guard case .vpc(let eni) = topology.hosts.first(where: { $0.name == name })!.placement else { fatalError("no host \(name)") }
        return topology[eni]
    }

    /// A SYN (with `payload` bytes, for the oversize case).
    static func tcp(_ source: String, _ sourcePort: UInt16, _ destination: String, _ destinationPort: UInt16, payload: Int) -> [UInt8] {
        let fields = TCPFields(sourcePort: sourcePort, destinationPort: destinationPort, flags: .syn)
        let bytes = [UInt8](repeating: 0x58, count: payload)
        if let a = IPv4Address(source), let b = IPv4Address(destination) {
            return PacketBuilder.ipv4Packet(IPv4Fields(source: a, destination: b), .tcp(fields), payload: bytes)
        }
        return PacketBuilder.ipv6Packet(IPv6Fields(source: IPv6Address(source)!, destination: IPv6Address(destination)!),
                                        .tcp(fields), payload: bytes)
    }
}
