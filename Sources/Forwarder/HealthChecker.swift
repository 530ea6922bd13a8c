import Dataplane
import PacketWire
import Topology

/// TCP health checks as an NLB node makes them (aws-behaviour.md §2): a SYN from the node's own
/// address to each target every interval; a SYN-ACK within the timeout is a success (the probe
/// is then closed with a RST), a RST or silence a failure. `unhealthyThreshold` failures in a row
/// mark the target unhealthy, `healthyThreshold` successes healthy again. The probes and their
/// replies cross the dataplane on its health-check port, so security groups apply and the target
/// sees the NLB's address. Runs on the forwarding thread, between batches.
public struct HealthChecker {
    struct Check {
        var target: Int
        var name: String
        var node: IPv4Address
        var address: IPv4Address
        var port: UInt16
        var interval: Int64
        var timeout: Int64
        var healthyThreshold: Int
        var unhealthyThreshold: Int
        var healthy = true
        var streak = 0
        var due: Int64 = 0
        /// The source port of the probe in flight, and when it left.
        var probePort: UInt16?
        var sentAt: Int64 = 0
    }

    /// A change of a target's health, for the log.
    public struct Change: Sendable {
        public var targetIndex: Int
        public var target: String
        public var healthy: Bool
        public var reason: String
    }

    var checks: [Check] = []
    /// Probe source ports: below the range the dataplane allocates for translated flows, so a
    /// probe never collides with a client's flow to the same target.
    private var nextPort: UInt16 = 1024
    public private(set) var probesSent: UInt64 = 0

    public init(topology: Topology, tables: ForwardingTables, now: Int64) {
        for (index, target) in tables.targets.enumerated() {
            let group = topology.targetGroups[target.targetGroup]
            // The node of the balancer in front of the group, in the target's zone if it has one.
            guard let balancer = tables.loadBalancers.first(where: { $0.listeners.contains { $0.targetGroup == target.targetGroup } }),
                  let node = balancer.nodes.first(where: { $0.zone == target.zone }) ?? balancer.nodes.first,
                  let nodeAddress = tables.interfaces[node.interface].ipv4,
                  let address = tables.interfaces[target.interface].ipv4 else { continue }
            let settings = group.healthCheck
            let second: Int64 = 1_000_000_000
            checks.append(Check(
                target: index, name: "\(target.name) in \(group.name)", node: nodeAddress, address: address, port: settings.port ?? target.port,
                interval: Int64(settings.interval) * second, timeout: Int64(settings.timeout) * second,
                healthyThreshold: settings.healthyThreshold, unhealthyThreshold: settings.unhealthyThreshold,
                // Spread the first probes over the first interval.
                due: now + Int64(settings.interval) * second * Int64(index % 8) / 8))
        }
    }

    /// A checker for reloaded tables: targets that stay keep their state and schedule.
    public init(topology: Topology, tables: ForwardingTables, now: Int64, carrying old: HealthChecker) {
        self.init(topology: topology, tables: tables, now: now)
        nextPort = old.nextPort
        for index in checks.indices {
            guard let previous = old.checks.first(where: { $0.name == checks[index].name && $0.address == checks[index].address })
            else { continue }
            checks[index].healthy = previous.healthy
            checks[index].streak = previous.streak
            checks[index].due = previous.due
        }
    }

    /// The probes due at `now`, as packets for the health-check port; and the changes caused by
    /// probes that timed out.
    public mutating func poll(now: Int64, send: ([UInt8]) -> Void) -> [Change] {
        var changes: [Change] = []
        for index in checks.indices {
            if checks[index].probePort != nil, now - checks[index].sentAt >= checks[index].timeout {
                checks[index].probePort = nil
                if let change = record(index, success: false, reason: "no answer within \(checks[index].timeout / 1_000_000_000) s") {
                    changes.append(change)
                }
            }
            guard checks[index].probePort == nil, now >= checks[index].due else { continue }
            let port = nextPort
            nextPort = nextPort >= 9999 ? 1024 : nextPort + 1
            checks[index].probePort = port
            checks[index].sentAt = now
            checks[index].due = now + checks[index].interval
            let check = checks[index]
            var tcp = TCPFields(sourcePort: port, destinationPort: check.port, flags: .syn)
            tcp.sequenceNumber = UInt32(truncatingIfNeeded: now)
            send(PacketBuilder.ipv4Packet(IPv4Fields(source: check.node, destination: check.address), .tcp(tcp)))
            probesSent &+= 1
        }
        return changes
    }

    /// A reply that came out of the health-check port: a SYN-ACK (success; `send` gets the RST
    /// that closes the probe) or a RST (failure).
    public mutating func receive(_ packet: UnsafeMutableRawBufferPointer, send: ([UInt8]) -> Void) -> Change? {
        guard let ip = try? IPv4Packet(packet), ip.protocol == .tcp, let tcp = try? TCPSegment(ip.payload),
              let index = checks.firstIndex(where: { $0.probePort == tcp.destinationPort && $0.address == ip.source }) else {
            return nil
        }
        checks[index].probePort = nil
        let flags = tcp.flags
        if flags.contains(.syn) && flags.contains(.ack) {
            var reset = TCPFields(sourcePort: tcp.destinationPort, destinationPort: tcp.sourcePort, flags: .rst)
            reset.sequenceNumber = tcp.acknowledgmentNumber
            send(PacketBuilder.ipv4Packet(IPv4Fields(source: ip.destination, destination: ip.source), .tcp(reset)))
            return record(index, success: true, reason: "answered")
        }
        return record(index, success: false, reason: flags.contains(.rst) ? "connection refused" : "unexpected reply")
    }

    private mutating func record(_ index: Int, success: Bool, reason: String) -> Change? {
        var check = checks[index]
        defer { checks[index] = check }
        if success == check.healthy {
            check.streak = 0
            return nil
        }
        check.streak += 1
        let threshold = success ? check.healthyThreshold : check.unhealthyThreshold
        guard check.streak >= threshold else { return nil }
        check.healthy = success
        check.streak = 0
        return Change(targetIndex: check.target, target: check.name, healthy: success,
                      reason: "\(threshold) check\(threshold == 1 ? "" : "s") in a row: \(reason)")
    }
}
