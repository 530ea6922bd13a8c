import Dataplane
import PacketWire
import Topology

/// Health checks as a load balancer node makes them (docs/aws-behaviour.md §2, §6): a SYN from the
/// node's own address to each target every interval. A TCP check succeeds on a SYN-ACK within the
/// timeout; an HTTP check then sends `GET path` and succeeds on a status of 200 to 399 (AWS's
/// default matcher). The probe is closed with a RST; a RST, another status or silence is a
/// failure. To a group with Proxy Protocol v2, a probe's first bytes are a PROXY header with
/// command LOCAL: it carries no client (docs/aws-behaviour.md §3). `unhealthyThreshold` failures in
/// a row mark the target unhealthy, `healthyThreshold` successes healthy again. The probes and
/// their replies cross the dataplane on its health-check port, so security groups apply and the
/// target sees the node's address. Runs on the forwarding thread, between batches.
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
        /// The path an HTTP check asks for; nil for a TCP check.
        var path: String?
        /// The group has Proxy Protocol v2: the probe's data starts with a LOCAL header.
        var proxyProtocol: Bool
        var healthy = true
        var streak = 0
        var due: Int64 = 0
        /// The source port of the probe in flight, and when it left.
        var probePort: UInt16?
        var sentAt: Int64 = 0
        /// The probe's next sequence number; whether its HTTP request is sent.
        var sequence: UInt32 = 0
        var requested = false
        /// The last check's end, its result and why; when the target's health last changed
        /// (or checking began).
        var lastCheck: Int64?
        var lastResult: Bool?
        var lastReason = ""
        var since: Int64 = 0
        /// Whether the first result was reported (a target's state is logged at start).
        var reported = false
        /// How long the last probe took to be judged, in nanoseconds.
        var lastLatency: Int64?
    }

    /// One target's health as `privet status` shows it.
    public struct TargetHealth: Sendable {
        public var target: Int
        public var name: String
        public var healthy: Bool
        public var lastCheck: Int64?
        public var lastResult: Bool?
        public var lastReason: String
        public var since: Int64
        /// How long the last probe took to be judged (answered, refused or timed out), nanoseconds.
        public var lastLatency: Int64?
    }

    /// Every checked target's health now.
    public var health: [TargetHealth] {
        checks.map { TargetHealth(target: $0.target, name: $0.name, healthy: $0.healthy, lastCheck: $0.lastCheck,
                                  lastResult: $0.lastResult, lastReason: $0.lastReason, since: $0.since,
                                  lastLatency: $0.lastLatency) }
    }

    /// A change of a target's health, for the log.
    public struct Change: Sendable {
        public var targetIndex: Int
        public var target: String
        public var healthy: Bool
        public var reason: String
    }

    var checks: [Check] = []
    /// Probe source ports: outside the range the dataplane allocates for translated flows (1024
    /// to 9999, then 65000 and up), so a probe never collides with a client's flow to the same
    /// target.
    private var nextPort: UInt16 = 1024
    /// With several workers, a probe leaves from a port whose flow worker 0, which runs the
    /// checker, owns (Sharding.swift), so that its reply comes back there.
    private let workers: Int
    public private(set) var probesSent: UInt64 = 0

    public init(topology: Topology, tables: ForwardingTables, now: Int64, workers: Int = 1) {
        self.workers = workers
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
                path: settings.protocolName == "HTTP" ? settings.path ?? "/" : nil, proxyProtocol: group.proxyProtocolV2,
                // Spread the first probes over the first interval.
                due: now + Int64(settings.interval) * second * Int64(index % 8) / 8, since: now))
        }
    }

    /// A checker for reloaded tables: targets that stay keep their state and schedule.
    public init(topology: Topology, tables: ForwardingTables, now: Int64, workers: Int = 1, carrying old: HealthChecker) {
        self.init(topology: topology, tables: tables, now: now, workers: workers)
        nextPort = old.nextPort
        for index in checks.indices {
            guard let previous = old.checks.first(where: { $0.name == checks[index].name && $0.address == checks[index].address })
            else { continue }
            checks[index].healthy = previous.healthy
            checks[index].streak = previous.streak
            checks[index].due = previous.due
            checks[index].lastCheck = previous.lastCheck
            checks[index].lastResult = previous.lastResult
            checks[index].lastReason = previous.lastReason
            checks[index].since = previous.since
            checks[index].reported = previous.reported
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
            let port = probePort(to: checks[index].port)
            checks[index].probePort = port
            checks[index].sentAt = now
            checks[index].due = now + checks[index].interval
            checks[index].sequence = UInt32(truncatingIfNeeded: now) &+ 1
            checks[index].requested = false
            let check = checks[index]
            var tcp = TCPFields(sourcePort: port, destinationPort: check.port, flags: .syn)
            tcp.sequenceNumber = check.sequence &- 1
            send(PacketBuilder.ipv4Packet(IPv4Fields(source: check.node, destination: check.address), .tcp(tcp)))
            probesSent &+= 1
        }
        return changes
    }

    /// The next probe port whose flow to `port` is worker 0's. Below a service port of 10,000 a
    /// thousand or more ports of the cycle are; above it, only those of 65000 and up can be,
    /// and with very many workers none may: after one cycle the next port is taken anyway, and
    /// its reply, reaching a worker with no session for it, fails the check (never a hang).
    private mutating func probePort(to port: UInt16) -> UInt16 {
        let cycle = (9999 - 1024 + 1) + (Int(UInt16.max) - 65000 + 1)
        for _ in 0..<cycle {
            let candidate = takePort()
            if Shard.owner(ports: candidate, port, workers: workers) == 0 { return candidate }
        }
        return takePort()
    }

    /// The next port of the cycle 1024–9999, 65000–65535.
    private mutating func takePort() -> UInt16 {
        let port = nextPort
        nextPort = nextPort == 9999 ? 65000 : nextPort == UInt16.max ? 1024 : nextPort + 1
        return port
    }

    /// A probe the dataplane dropped on its way to the target (`packet` as the checker sent it):
    /// the check fails at once, with who refused it, as a load balancer's target health names
    /// the reason rather than waiting out the timeout.
    public mutating func refused(_ packet: UnsafeMutableRawBufferPointer, by refuser: String, reason: DropReason?) -> Change? {
        guard let ip = try? IPv4Packet(packet), ip.protocol == .tcp, let tcp = try? TCPSegment(ip.payload),
              let index = checks.firstIndex(where: { $0.probePort == tcp.sourcePort && $0.address == ip.destination }) else {
            return nil
        }
        checks[index].probePort = nil
        let why = reason.map { " (\($0.name))" } ?? ""
        return record(index, success: false, reason: "probe from \(ip.source) refused by \(refuser)\(why)")
    }

    /// A reply that came out of the health-check port: a SYN-ACK (a TCP check's success; an HTTP
    /// check's request follows it), the HTTP response, or a RST (failure). `send` gets what the
    /// probe sends: the request, and the RST that closes it.
    public mutating func receive(_ packet: UnsafeMutableRawBufferPointer, send: ([UInt8]) -> Void) -> Change? {
        guard let ip = try? IPv4Packet(packet), ip.protocol == .tcp, let tcp = try? TCPSegment(ip.payload),
              let index = checks.firstIndex(where: { $0.probePort == tcp.destinationPort && $0.address == ip.source }) else {
            return nil
        }
        let flags = tcp.flags
        // What the probe sends: the request acknowledges the SYN-ACK; a RST acknowledges nothing.
        func segment(_ sending: TCPFlags, payload: [UInt8] = []) -> [UInt8] {
            var fields = TCPFields(sourcePort: tcp.destinationPort, destinationPort: tcp.sourcePort, flags: sending)
            fields.sequenceNumber = checks[index].sequence
            fields.acknowledgmentNumber = sending.contains(.ack) ? tcp.sequenceNumber &+ 1 : 0
            return PacketBuilder.ipv4Packet(IPv4Fields(source: ip.destination, destination: ip.source), .tcp(fields), payload: payload)
        }
        if flags.contains(.rst) {
            checks[index].probePort = nil
            return record(index, success: false, reason: "connection refused")
        }
        if flags.contains(.syn) && flags.contains(.ack) {
            let header = checks[index].proxyProtocol ? HealthChecker.localHeader : []
            guard let path = checks[index].path else {
                checks[index].probePort = nil
                if !header.isEmpty {
                    send(segment([.psh, .ack], payload: header))
                    checks[index].sequence &+= UInt32(header.count)
                }
                send(segment(.rst))
                return record(index, success: true, reason: "answered")
            }
            guard !checks[index].requested else { return nil }
            let request = header + Array("GET \(path) HTTP/1.0\r\nHost: \(checks[index].address)\r\nUser-Agent: ELB-HealthChecker/2.0\r\n\r\n".utf8)
            send(segment([.psh, .ack], payload: request))
            checks[index].sequence &+= UInt32(request.count)
            checks[index].requested = true
            return nil
        }
        // An HTTP check's answer: its status line starts the first segment with data.
        guard checks[index].requested, !tcp.payload.isEmpty else { return nil }
        checks[index].probePort = nil
        send(segment(.rst))
        let line = String(decoding: tcp.payload.prefix(64), as: UTF8.self)
        let fields = line.split(separator: " ", maxSplits: 2)
        guard fields.count >= 2, fields[0].hasPrefix("HTTP/"), let status = Int(fields[1]) else {
            return record(index, success: false, reason: "not an HTTP response")
        }
        return record(index, success: (200...399).contains(status), reason: "HTTP \(status)")
    }

    /// A PROXY v2 header with command LOCAL: what a health check to a group with Proxy Protocol
    /// v2 starts its data with.
    static let localHeader: [UInt8] = {
        var bytes = [UInt8](repeating: 0, count: ProxyProtocolV2.Offset.addresses)
        _ = bytes.withUnsafeMutableBytes { ProxyProtocolV2.writeLocal(at: $0.baseAddress!) }
        return bytes
    }()

    private mutating func record(_ index: Int, success: Bool, reason: String) -> Change? {
        var check = checks[index]
        defer { checks[index] = check }
        check.lastCheck = LiveNetwork.monotonic()
        check.lastLatency = check.lastCheck.map { $0 - check.sentAt }
        check.lastResult = success
        check.lastReason = reason
        let first = !check.reported
        check.reported = true
        // The first result is reported whatever it changes: the state is known from the start.
        let firstReport = first ? Change(targetIndex: check.target, target: check.name, healthy: check.healthy,
                                         reason: "first check \(success ? "passed" : "failed"): \(reason)") : nil
        if success == check.healthy {
            check.streak = 0
            return firstReport
        }
        check.streak += 1
        let threshold = success ? check.healthyThreshold : check.unhealthyThreshold
        guard check.streak >= threshold else { return firstReport }
        check.healthy = success
        check.streak = 0
        check.since = check.lastCheck ?? check.since
        return Change(targetIndex: check.target, target: check.name, healthy: success,
                      reason: "\(threshold) check\(threshold == 1 ? "" : "s") in a row: \(reason)")
    }
}
