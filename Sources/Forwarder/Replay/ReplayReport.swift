import Foundation

/// What a replay did, for a person (text) and for tools (JSON). Everything in it is determined
/// by the inputs: the timing figures live apart, in `ReplayTiming`, and are printed, never
/// written to the output folder, so that the same inputs give byte-identical files.
public struct ReplayReport: Encodable, Equatable, Sendable {
    public struct Traffic: Encodable, Equatable, Sendable {
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    public struct PortLine: Encodable, Equatable, Sendable {
        public var port: String
        public var received: Traffic
        public var sent: Traffic
    }

    public struct TargetLine: Encodable, Equatable, Sendable {
        public var targetGroup: String
        public var target: String
        public var zone: String
        public var flows: UInt64
        public var packets: UInt64
        public var bytes: UInt64
    }

    public struct NodeLine: Encodable, Equatable, Sendable {
        public var loadBalancer: String
        public var zone: String
        public var flows: UInt64
    }

    /// Queries the VPC resolvers answered (FORMERR included), and those too malformed to answer.
    public struct ResolverLine: Encodable, Equatable, Sendable {
        public var answered: UInt64 = 0
        public var malformed: UInt64 = 0
    }

    public struct EndpointLine: Encodable, Equatable, Sendable {
        public var endpoint: String
        public var flows: UInt64
        public var packets: UInt64
        public var bytes: UInt64
    }

    public var input: Traffic = Traffic()
    public var unattributed: UInt64 = 0
    /// TCP and UDP checksums that held only the pseudo-header sum (captured before a device with
    /// checksum offload finished them), completed on the way in.
    public var partialChecksumsCompleted: UInt64 = 0
    /// Frames that carry something other than IP (ARP, ...): not the fabric's to judge.
    public var notIP: UInt64 = 0
    public var forwarded: Traffic = Traffic()
    public var dropped: Traffic = Traffic()
    public var resetsSent: [String: UInt64] = [:]
    public var drops: [String: UInt64] = [:]
    public var sessions: [String: UInt64] = [:]
    public var ports: [PortLine] = []
    public var endpoints: [EndpointLine] = []
    public var loadBalancerNodes: [NodeLine] = []
    public var targets: [TargetLine] = []
    public var flowsByTargetZone: [String: UInt64] = [:]
    public var flowRecords: UInt64 = 0
    public var flowRecordsLost: UInt64 = 0
    public var resolver = ResolverLine()
    public var events: Int = 0
    /// Where reading the capture stopped, when it could not be read to its end
    /// (`FILE: packet N: reason`); every packet before that place was replayed.
    public var captureError: String?

    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self) + "\n"
    }

    public var text: String {
        var lines: [String] = []
        func row(_ label: String, _ traffic: Traffic) -> String {
            "\(label.padding(toLength: 14, withPad: " ", startingAt: 0))\(String(traffic.packets).leftPadded(10)) packets \(String(traffic.bytes).leftPadded(12)) bytes"
        }
        lines.append(row("input", input))
        lines.append(row("forwarded", forwarded))
        lines.append(row("dropped", dropped))
        if unattributed > 0 { lines.append("unattributed  \(String(unattributed).leftPadded(10)) packets (no ENI, gateway or service owns their addresses)") }
        if partialChecksumsCompleted > 0 {
            lines.append("partial checksums completed: \(partialChecksumsCompleted) (left for a device's checksum offload)")
        }
        if notIP > 0 { lines.append("not IP        \(String(notIP).leftPadded(10)) packets (ARP and other protocols, skipped)") }
        lines.append("sessions: " + sessions.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        if !drops.isEmpty {
            lines.append("")
            lines.append("drops by reason")
            for (reason, count) in drops.sorted(by: { ($0.value, $1.key) > ($1.value, $0.key) }) {
                lines.append("  \(reason.padding(toLength: 30, withPad: " ", startingAt: 0))\(String(count).leftPadded(10))")
            }
        }
        if !resetsSent.isEmpty {
            lines.append("resets sent: " + resetsSent.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if !targets.isEmpty {
            lines.append("")
            lines.append("targets (flows, packets, bytes)")
            for target in targets {
                lines.append("  \(target.targetGroup)/\(target.target) in \(target.zone): \(target.flows) flows, \(target.packets) packets, \(target.bytes) bytes")
            }
            lines.append("flows by target zone: " + flowsByTargetZone.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        }
        if !loadBalancerNodes.isEmpty {
            lines.append("load balancer nodes: " + loadBalancerNodes.map { "\($0.loadBalancer)/\($0.zone) \($0.flows)" }.joined(separator: ", "))
        }
        if !endpoints.isEmpty {
            lines.append("endpoints: " + endpoints.map { "\($0.endpoint) \($0.flows) flows \($0.packets) packets" }.joined(separator: ", "))
        }
        lines.append("")
        lines.append("ports (in / out packets)")
        for port in ports where port.received.packets + port.sent.packets > 0 {
            lines.append("  \(port.port.padding(toLength: 28, withPad: " ", startingAt: 0))\(String(port.received.packets).leftPadded(10)) / \(String(port.sent.packets).leftPadded(10))")
        }
        lines.append("flow log: \(flowRecords) records" + (flowRecordsLost > 0 ? ", \(flowRecordsLost) lost" : ""))
        if resolver.answered + resolver.malformed > 0 {
            lines.append("resolver: \(resolver.answered) queries answered, \(resolver.malformed) malformed")
        }
        if let captureError { lines.append("stopped early: \(captureError); the packets before it were replayed") }
        return lines.joined(separator: "\n") + "\n"
    }
}

/// How fast a replay went: measured, so it changes from run to run and stays out of the files.
public struct ReplayTiming: Encodable, Sendable {
    public var seconds: Double
    public var dataplaneSeconds: Double
    public var packetsPerSecond: Double

    public var text: String {
        let share = seconds > 0 ? 100 * dataplaneSeconds / seconds : 0
        return String(format: "%.3f s, %.0f packets/s; the dataplane %.3f s (%.0f%% of the time)",
                      seconds, packetsPerSecond, dataplaneSeconds, share)
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
