import Dataplane
import Foundation
import PacketWire
import Topology

// What `privet status` and `privet flows` show of a running topology: snapshots taken on the
// forwarding thread between batches (`LiveNetwork.ask`), so that they read the dataplane as it
// is, never half-way through a batch.

/// A running topology's state.
public struct LiveStatus: Codable, Sendable {
    public struct Host: Codable, Sendable {
        public var name: String
        public var namespace: String
        public var addresses: [String]
        public var place: String
        public var server: String?
    }

    public struct Endpoint: Codable, Sendable {
        public var name: String
        public var id: String
        public var state: String
    }

    public struct Node: Codable, Sendable {
        public var loadBalancer: String
        public var zone: String
        public var address: String
        public var flows: UInt64
        public var packets: UInt64
        public var bytes: UInt64
    }

    public struct Target: Codable, Sendable {
        public var target: String
        public var healthy: Bool
        /// Seconds since the last check ended; nil before the first.
        public var lastCheckSecondsAgo: Double?
        public var lastResult: String?
        public var reason: String
        /// Seconds since its health last changed (or checking began).
        public var sinceSeconds: Double
        public var flows: UInt64
        public var packets: UInt64
        public var bytes: UInt64
        public var natPortsInUse: Int
    }

    public struct Port: Codable, Sendable {
        public var name: String
        public var packetsIn: UInt64
        public var bytesIn: UInt64
        public var packetsOut: UInt64
        public var bytesOut: UInt64
    }

    public var topology: String
    public var uptimeSeconds: Double
    public var hosts: [Host]
    public var endpoints: [Endpoint]
    public var nodes: [Node]
    public var targets: [Target]
    public var sessionsInUse: Int
    public var sessionCapacity: Int
    public var ports: [Port]
    public var drops: [String: UInt64]
    public var deviceErrors: UInt64
    public var queueFull: UInt64
    /// Forwarding threads; packets read by one and handed to the one owning their flow; and
    /// those dropped because the owner's ring was full.
    public var workers: Int
    public var handedOff: UInt64
    public var handoffRingFull: UInt64

    /// The status as a table, as `privet status` prints it.
    public var text: String {
        func seconds(_ value: Double) -> String { value < 120 ? String(format: "%.0f s", value) : String(format: "%.0f min", value / 60) }
        var lines = ["Topology '\(topology)', up \(seconds(uptimeSeconds)); sessions \(sessionsInUse) of \(sessionCapacity); "
                     + "\(workers) worker\(workers == 1 ? "" : "s")" + (workers > 1 ? " (\(handedOff) packets handed to their flow's worker)" : "")]
        lines.append("")
        lines.append("HOST                 NAMESPACE                           ADDRESSES")
        for host in hosts {
            let server = host.server.map { ", serving \($0)" } ?? ""
            lines.append(host.name.padded(20) + " " + host.namespace.padded(35) + " " + host.addresses.joined(separator: " ")
                         + "  (\(host.place)\(server))")
        }
        if !endpoints.isEmpty {
            lines.append("")
            lines.append("ENDPOINT             ID                        STATE")
            for endpoint in endpoints { lines.append(endpoint.name.padded(20) + " " + endpoint.id.padded(25) + " " + endpoint.state) }
        }
        if !nodes.isEmpty {
            lines.append("")
            lines.append("LOAD BALANCER NODE              ADDRESS          FLOWS    PACKETS      BYTES")
            for node in nodes {
                lines.append("\(node.loadBalancer) in \(node.zone)".padded(31) + " " + node.address.padded(15) + " "
                             + "\(node.flows)".leftPadded(6) + " " + "\(node.packets)".leftPadded(10) + " " + "\(node.bytes)".leftPadded(10))
            }
        }
        if !targets.isEmpty {
            lines.append("")
            lines.append("TARGET                          HEALTH     SINCE    LAST CHECK          FLOWS  NAT PORTS  REASON")
            for target in targets {
                let last = target.lastCheckSecondsAgo.map { "\(target.lastResult ?? "") \(seconds($0)) ago" } ?? "not yet"
                lines.append(target.target.padded(31) + " " + (target.healthy ? "healthy" : "unhealthy").padded(10) + " "
                             + seconds(target.sinceSeconds).padded(8) + " " + last.padded(18) + " " + "\(target.flows)".leftPadded(6)
                             + " " + "\(target.natPortsInUse)".leftPadded(10) + "  " + target.reason)
            }
        }
        lines.append("")
        lines.append("PORT                             PACKETS IN    BYTES IN  PACKETS OUT   BYTES OUT")
        for port in ports where port.packetsIn + port.packetsOut > 0 {
            lines.append(port.name.padded(31) + " " + "\(port.packetsIn)".leftPadded(11) + " " + "\(port.bytesIn)".leftPadded(11)
                         + " " + "\(port.packetsOut)".leftPadded(12) + " " + "\(port.bytesOut)".leftPadded(11))
        }
        lines.append("")
        if drops.isEmpty {
            lines.append("drops: none")
        } else {
            lines.append("drops: " + drops.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if deviceErrors + queueFull > 0 { lines.append("TUN devices: \(queueFull) packets refused by full queues, \(deviceErrors) errors") }
        if handoffRingFull > 0 { lines.append("handoff: \(handoffRingFull) packets dropped on a worker's full ring") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// One session of the flow table, as `privet flows` shows it.
public struct LiveFlow: Codable, Sendable {
    /// The tuple as the initiator sent it, and as the responder answers (after translation).
    public var forward: String
    public var reverse: String
    public var kind: String
    public var proto: UInt8
    public var endpoint: String?
    public var node: String?
    public var target: String?
    public var state: String
    public var ageSeconds: Double
    public var idleSeconds: Double
    public var packetsForward: UInt64
    public var packetsReverse: UInt64
    public var bytesForward: UInt64
    public var bytesReverse: UInt64

    /// What a filter of `privet flows` selects by.
    public struct Filter: Codable, Sendable {
        public var host: String?
        public var target: String?
        public var endpoint: String?
        public init(host: String? = nil, target: String? = nil, endpoint: String? = nil) {
            self.host = host
            self.target = target
            self.endpoint = endpoint
        }
    }

    /// The flows as a table, as `privet flows` prints them.
    public static func text(_ flows: [LiveFlow]) -> String {
        var lines = ["FLOW (INITIATOR)                                REPLIES FROM                                    KIND           "
                     + "STATE         AGE   IDLE  PACKETS  BYTES    VIA"]
        for flow in flows {
            let via = [flow.endpoint.map { "endpoint \($0)" }, flow.node, flow.target.map { "→ \($0)" }].compactMap { $0 }
            lines.append(flow.forward.padded(47) + " " + flow.reverse.padded(47) + " " + flow.kind.padded(14) + " "
                         + flow.state.padded(13) + String(format: "%5.0f %6.0f ", flow.ageSeconds, flow.idleSeconds)
                         + "\(flow.packetsForward)/\(flow.packetsReverse)".padded(8) + " " + "\(flow.bytesForward)/\(flow.bytesReverse)".padded(8)
                         + " " + via.joined(separator: " "))
        }
        lines.append("\(flows.count) flow\(flows.count == 1 ? "" : "s")")
        return lines.joined(separator: "\n") + "\n"
    }
}

extension String {
    func padded(_ width: Int) -> String { count >= width ? self : self + String(repeating: " ", count: width - count) }
}

extension LiveNetwork {
    /// The status now. On the forwarding thread.
    func status(topology current: Topology, now: Int64) -> LiveStatus {
        let tables = dataplane.tables, counters = self.counters
        let hosts = current.hosts.map { host in
            LiveStatus.Host(name: host.name, namespace: LiveNetwork.namespaceName(topology: name, host: host.name),
                            addresses: current.addresses(of: host), place: LiveReport.place(of: host, in: current),
                            server: host.server.map { "\($0.kind.rawValue) on \($0.port)" })
        }
        let endpoints = tables.endpoints.indices.map { index in
            LiveStatus.Endpoint(name: current.endpoints[index].name, id: tables.endpoints[index].id,
                                state: String(describing: dataplane.endpointStates[index]))
        }
        let nodeCounts = counters.nodes
        var nodes: [LiveStatus.Node] = []
        for (balancerIndex, balancer) in tables.loadBalancers.enumerated() {
            for (nodeIndex, node) in balancer.nodes.enumerated() {
                let number = tables.nodes.number(balancer: balancerIndex, node: nodeIndex)
                let counts = nodeCounts[number]
                nodes.append(LiveStatus.Node(loadBalancer: balancer.name, zone: tables.zoneNames[node.zone],
                                             address: tables.interfaces[node.interface].ipv4?.description ?? "",
                                             flows: counts.flows, packets: counts.packets, bytes: counts.bytes))
            }
        }
        let targetCounts = counters.targets
        let health = Dictionary(checker.health.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        let targets = tables.targets.indices.map { index -> LiveStatus.Target in
            let target = tables.targets[index]
            let group = current.targetGroups[target.targetGroup]
            var ports = 0
            if let (balancerIndex, balancer) = tables.loadBalancers.enumerated().first(where: { $0.element.listeners.contains { $0.targetGroup == target.targetGroup } }) {
                for node in balancer.nodes.indices {
                    ports += natPortsInUse(node: tables.nodes.number(balancer: balancerIndex, node: node), target: index)
                }
            }
            let checked = health[index]
            return LiveStatus.Target(
                target: "\(target.name) in \(group.name)", healthy: dataplane.isHealthy(target: index),
                lastCheckSecondsAgo: checked?.lastCheck.map { Double(now - $0) / 1e9 },
                lastResult: checked?.lastResult.map { $0 ? "passed" : "failed" }, reason: checked?.lastReason ?? "not checked",
                sinceSeconds: Double(now - (checked?.since ?? started)) / 1e9,
                flows: targetCounts[index].flows, packets: targetCounts[index].packets, bytes: targetCounts[index].bytes,
                natPortsInUse: ports)
        }
        let ports = zip(tables.ports, counters.ports).map { port, counts in
            LiveStatus.Port(name: port.name, packetsIn: counts.packetsIn, bytesIn: counts.bytesIn, packetsOut: counts.packetsOut,
                            bytesOut: counts.bytesOut)
        }
        var drops: [String: UInt64] = [:]
        for reason in DropReason.allCases where counters.drops(reason) > 0 { drops[reason.name] = counters.drops(reason) }
        return LiveStatus(topology: name, uptimeSeconds: Double(now - started) / 1e9, hosts: hosts, endpoints: endpoints,
                          nodes: nodes, targets: targets, sessionsInUse: sessionsInUse,
                          sessionCapacity: sessionCapacity, ports: ports, drops: drops, deviceErrors: deviceErrors,
                          queueFull: queueFull, workers: workerCount, handedOff: handedOff, handoffRingFull: handoffRingFull)
    }

    /// The sessions of the flow table that `filter` selects. On the forwarding thread.
    func flows(topology current: Topology, filter: LiveFlow.Filter, now: Int64) -> [LiveFlow] {
        let tables = dataplane.tables
        func text(_ key: FlowKey) -> String {
            let source = FlowAddress(high: key.sourceHigh, low: key.sourceLow), destination = FlowAddress(high: key.destinationHigh, low: key.destinationLow)
            func address(_ value: FlowAddress) -> String { value.isIPv4 ? value.description : "[\(value)]" }
            return "\(address(source)):\(key.sourcePort) → \(address(destination)):\(key.destinationPort)"
        }
        // The addresses of the host the filter names.
        var hostAddresses: Set<String> = []
        if let host = filter.host, let found = current.hosts.first(where: { $0.name == host }) {
            hostAddresses = Set(current.addresses(of: found))
        }
        var result: [LiveFlow] = []
        for table in dataplanes.map(\.flows) {
            for index in 0..<table.neverUsed where table.sessions[index].inUse {
                let session = table.sessions[index]
                let endpoint = session.endpoint.index.map { current.endpoints[$0].name }
                let target = session.target.index.map { tables.targets[$0].name }
                var node: String?
                if let number = session.node.index, let (balancer, nodeIndex) = tables.nodes.location(number) {
                    node = "\(tables.loadBalancers[balancer].name) in \(tables.zoneNames[tables.loadBalancers[balancer].nodes[nodeIndex].zone])"
                }
                let forward = text(session.forward), reverse = text(session.reverse)
                if filter.host != nil {
                    let mentioned = hostAddresses.contains { address in forward.contains(address + ":") || reverse.contains(address + ":")
                        || forward.contains("[\(address)]") || reverse.contains("[\(address)]") }
                    guard mentioned else { continue }
                }
                if let wanted = filter.target, !(target?.hasPrefix(wanted + ":") ?? false) && target != wanted { continue }
                if let wanted = filter.endpoint, endpoint != wanted { continue }
                result.append(LiveFlow(
                    forward: forward, reverse: reverse, kind: session.kind.name, proto: session.forward.proto, endpoint: endpoint,
                    node: node, target: target, state: session.tcpState.name,
                    ageSeconds: Double(now - session.flowStart) / 1e9, idleSeconds: Double(now - session.lastSeen) / 1e9,
                    packetsForward: UInt64(session.packets.forward), packetsReverse: UInt64(session.packets.reverse),
                    bytesForward: session.bytes.forward, bytesReverse: session.bytes.reverse))
            }
        }
        return result
    }
}

extension SessionKind {
    var name: String {
        switch self {
        case .plain: return "plain"
        case .endpoint: return "endpoint"
        case .loadBalancer: return "load-balancer"
        case .gatewayLoadBalancer: return "gwlb"
        }
    }
}

extension TCPTrackState {
    var name: String {
        switch self {
        case .none: return "-"
        case .synSent: return "syn-sent"
        case .synReceived: return "syn-received"
        case .established: return "established"
        case .finSentForward: return "fin-forward"
        case .finSentReverse: return "fin-reverse"
        case .closed: return "closed"
        }
    }
}
