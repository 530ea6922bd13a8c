import Dataplane
import Foundation
import Glibc
import PacketIO
import PacketWire
import Topology

// `privet up --metrics ADDRESS:PORT`: the running topology in Prometheus's text exposition
// format (version 0.0.4), named as Prometheus's conventions ask: `privet_` first, base units
// (bytes, seconds), `_total` on counters. What the dataplane counts is read on the forwarding
// thread (`LiveNetwork.ask`); what the kernel dropped at the TUN devices' queues is read from each
// host's namespace (/proc/net/dev there), since no counter of ours sees those packets.

/// Writes metric families: each one's HELP and TYPE once, then its samples.
struct MetricsText {
    private(set) var text = ""

    mutating func family(_ name: String, _ type: String, _ help: String) {
        text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: Double) {
        text += name
        if !labels.isEmpty {
            text += "{" + labels.map { "\($0.0)=\"\(MetricsText.escaped($0.1))\"" }.joined(separator: ",") + "}"
        }
        text += " " + (value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : String(value)) + "\n"
    }

    mutating func sample(_ name: String, _ labels: [(String, String)] = [], _ value: UInt64) {
        sample(name, labels, Double(value))
    }

    /// A label value as the format writes it: backslash, double quote and line feed escaped.
    static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}

extension LiveNetwork {
    /// The dataplane's and the forwarding loop's metrics. On the forwarding thread.
    func metrics(topology current: Topology, now: Int64) -> String {
        let tables = dataplane.tables, counters = self.counters
        var out = MetricsText()
        out.family("privet_uptime_seconds", "gauge", "Seconds since forwarding started.")
        out.sample("privet_uptime_seconds", [], Double(now - started) / 1e9)

        let ports = counters.ports
        out.family("privet_port_packets_total", "counter", "Packets into the dataplane (in) and out of it (out), by port.")
        for (index, port) in tables.ports.enumerated() {
            out.sample("privet_port_packets_total", [("port", port.name), ("direction", "in")], ports[index].packetsIn)
            out.sample("privet_port_packets_total", [("port", port.name), ("direction", "out")], ports[index].packetsOut)
        }
        out.family("privet_port_bytes_total", "counter", "Bytes into the dataplane (in) and out of it (out), by port.")
        for (index, port) in tables.ports.enumerated() {
            out.sample("privet_port_bytes_total", [("port", port.name), ("direction", "in")], ports[index].bytesIn)
            out.sample("privet_port_bytes_total", [("port", port.name), ("direction", "out")], ports[index].bytesOut)
        }

        out.family("privet_drops_total", "counter", "Packets dropped, by reason.")
        for reason in DropReason.allCases { out.sample("privet_drops_total", [("reason", reason.name)], counters.drops(reason)) }
        out.family("privet_resets_total", "counter", "TCP resets the dataplane sent in place of a packet, by cause.")
        for cause in ResetCause.allCases { out.sample("privet_resets_total", [("cause", "\(cause)")], counters.resets(cause)) }

        out.family("privet_sessions", "gauge", "Sessions in the flow table.")
        out.sample("privet_sessions", [], UInt64(sessionsInUse))
        out.family("privet_sessions_capacity", "gauge", "Sessions the flow table holds.")
        out.sample("privet_sessions_capacity", [], UInt64(sessionCapacity))
        out.family("privet_sessions_created_total", "counter", "Sessions started: new flows.")
        out.sample("privet_sessions_created_total", [], counters.sessionsCreated)
        out.family("privet_sessions_ended_total", "counter", "Sessions ended, by why.")
        out.sample("privet_sessions_ended_total", [("reason", "closed")], counters.sessionsClosed)
        out.sample("privet_sessions_ended_total", [("reason", "expired")], counters.sessionsExpired)
        out.sample("privet_sessions_ended_total", [("reason", "evicted")], counters.sessionsEvicted)

        let health = Dictionary(checker.health.map { ($0.target, $0) }, uniquingKeysWith: { first, _ in first })
        let targetCounts = counters.targets
        func targetLabels(_ index: Int) -> [(String, String)] {
            [("target_group", current.targetGroups[tables.targets[index].targetGroup].name), ("target", tables.targets[index].name)]
        }
        out.family("privet_target_healthy", "gauge", "1 when the target (or appliance) is healthy, 0 when not.")
        for index in tables.targets.indices {
            out.sample("privet_target_healthy", targetLabels(index), dataplane.isHealthy(target: index) ? 1.0 : 0.0)
        }
        out.family("privet_health_check_latency_seconds", "gauge", "How long the target's last health check took to be judged.")
        for index in tables.targets.indices {
            guard let latency = health[index]?.lastLatency else { continue }
            out.sample("privet_health_check_latency_seconds", targetLabels(index), Double(latency) / 1e9)
        }
        for (name, help, value) in [("flows", "New flows", \FlowCounts.flows), ("packets", "Packets", \FlowCounts.packets),
                                    ("bytes", "Bytes", \FlowCounts.bytes)] {
            out.family("privet_target_\(name)_total", "counter", "\(help) balanced to the target, both directions.")
            for index in tables.targets.indices { out.sample("privet_target_\(name)_total", targetLabels(index), targetCounts[index][keyPath: value]) }
        }

        let nodeCounts = counters.nodes
        out.family("privet_node_flows_total", "counter", "New flows through the load balancer node.")
        out.family("privet_nat_ports_in_use", "gauge", "NAT source ports in use from the load balancer node to the target.")
        var natSamples: [([(String, String)], Int)] = []
        for (balancerIndex, balancer) in tables.loadBalancers.enumerated() {
            for (nodeIndex, node) in balancer.nodes.enumerated() {
                let number = tables.nodes.number(balancer: balancerIndex, node: nodeIndex)
                let labels = [("load_balancer", balancer.name), ("zone", tables.zoneNames[node.zone])]
                out.sample("privet_node_flows_total", labels, nodeCounts[number].flows)
                for target in tables.targets.indices
                where balancer.listeners.contains(where: { $0.targetGroup == tables.targets[target].targetGroup }) {
                    natSamples.append((labels + [("target", tables.targets[target].name)],
                                       natPortsInUse(node: number, target: target)))
                }
            }
        }
        for (labels, value) in natSamples { out.sample("privet_nat_ports_in_use", labels, UInt64(value)) }
        let endpointCounts = counters.endpoints
        out.family("privet_endpoint_flows_total", "counter", "New flows through the endpoint.")
        for index in tables.endpoints.indices {
            out.sample("privet_endpoint_flows_total", [("endpoint", current.endpoints[index].name)], endpointCounts[index].flows)
        }

        out.family("privet_batch_packets", "histogram", "Packets in each batch the forwarding loop hands the dataplane.")
        var cumulative: UInt64 = 0
        for (bucket, count) in batchSizes.enumerated() {
            cumulative += count
            out.sample("privet_batch_packets_bucket", [("le", String(1 << bucket))], cumulative)
        }
        out.sample("privet_batch_packets_bucket", [("le", "+Inf")], cumulative)
        out.sample("privet_batch_packets_sum", [], batchedPackets)
        out.sample("privet_batch_packets_count", [], cumulative)

        out.family("privet_tun_queue_full_total", "counter", "Packets Privet could not write because a TUN device's queue was full.")
        out.sample("privet_tun_queue_full_total", [], queueFull)
        out.family("privet_tun_errors_total", "counter", "TUN reads and writes that failed otherwise.")
        out.sample("privet_tun_errors_total", [], deviceErrors)
        out.family("privet_workers", "gauge", "Forwarding threads, each owning a shard of the flows.")
        out.sample("privet_workers", [], UInt64(workerCount))
        out.family("privet_handoff_packets_total", "counter", "Packets a worker read that another owns, handed to the owner's ring.")
        out.sample("privet_handoff_packets_total", [], handedOff)
        out.family("privet_handoff_ring_full_total", "counter", "Packets dropped because the owning worker's handoff ring was full.")
        out.sample("privet_handoff_ring_full_total", [], handoffRingFull)
        return out.text
    }

    /// What the kernel dropped at each host's TUN device: packets for Privet it found no room
    /// for in the device's queue (`to_privet`), and packets from Privet it could not take
    /// (`from_privet`). Read in each namespace; not on the forwarding thread.
    public func kernelDrops() -> String {
        var out = MetricsText()
        out.family("privet_tun_kernel_dropped_total", "counter", "Packets the kernel dropped at a host's TUN device.")
        for (index, host) in topology.hosts.enumerated() {
            let namespace = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: host.name))
            let device = LiveNetwork.deviceName(topology: name, host: index)
            let found = try? namespace.run({ () -> String in
                let text = (try? String(contentsOfFile: "/proc/thread-self/net/dev", encoding: .utf8)) ?? ""
                return text.split(separator: "\n").first { $0.trimmingCharacters(in: .whitespaces).hasPrefix(device + ":") }
                    .map(String.init) ?? ""
            })
            guard let line = found, !line.isEmpty else { continue }
            // Receive: bytes packets errs drop ...; transmit (8 fields on): bytes packets errs drop.
            let fields = line.split(separator: ":", maxSplits: 1).last?.split(separator: " ").compactMap { UInt64($0) } ?? []
            guard fields.count >= 12 else { continue }
            out.sample("privet_tun_kernel_dropped_total", [("host", host.name), ("direction", "to_privet")], fields[11])
            out.sample("privet_tun_kernel_dropped_total", [("host", host.name), ("direction", "from_privet")], fields[3])
        }
        return out.text
    }

    /// The whole exposition: the forwarding thread's part, then the kernel's.
    public func metricsText() -> String? {
        guard let dataplanePart = ask({ network, topology, now in network.metrics(topology: topology, now: now) }) else { return nil }
        return dataplanePart + kernelDrops()
    }
}

/// Serves `/metrics` over HTTP/1.1 (one request a connection) for Prometheus to scrape.
public final class MetricsServer: @unchecked Sendable {
    private let server: RequestServer

    /// Listens on `address:port` (IPv4).
    public init(address: IPv4AddressText, port: UInt16, exposition: @escaping @Sendable () -> String?) throws(ForwarderError) {
        let listener = try listeningSocket(address, port, backlog: 16, option: "--metrics")
        // The request's head ends at its blank line.
        server = RequestServer(listener: listener, limit: 16384,
                               isComplete: { $0.ends(with: [13, 10, 13, 10]) || $0.ends(with: [10, 10]) }) {
            MetricsServer.response($0, exposition: exposition)
        }
    }

    public func start() { server.start(name: "privet-metrics") }

    public func close() { server.stop() }

    /// The answer to an HTTP request: `/metrics`, or 404.
    private static func response(_ request: [UInt8], exposition: () -> String?) -> [UInt8] {
        let line = String(decoding: request.prefix { $0 != 13 && $0 != 10 }, as: UTF8.self).split(separator: " ")
        let status: String, body: String, type: String
        if line.count >= 2, line[0] == "GET", line[1] == "/metrics" || line[1].hasPrefix("/metrics?") {
            if let text = exposition() {
                (status, body, type) = ("200 OK", text, "text/plain; version=0.0.4; charset=utf-8")
            } else {
                (status, body, type) = ("503 Service Unavailable", "not forwarding\n", "text/plain; charset=utf-8")
            }
        } else {
            (status, body, type) = ("404 Not Found", "only /metrics is served here\n", "text/plain; charset=utf-8")
        }
        let bytes = Array(body.utf8)
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(bytes.count)\r\nConnection: close\r\n\r\n"
        return Array(head.utf8) + bytes
    }
}

/// An IPv4 address as given on the command line, kept with its text for messages.
public struct IPv4AddressText: Sendable {
    public let address: IPv4Address
    public let text: String
    public init?(_ text: String) {
        guard let address = IPv4Address(text) else { return nil }
        self.address = address
        self.text = text
    }
}

extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
