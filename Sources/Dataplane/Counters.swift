// Counters per port, endpoint, load balancer node and target, and drops by reason: plain
// integer arrays allocated with the tables, bumped on the hot path, read by reports.

public final class Counters {
    /// Packets and bytes in and out of one port.
    public struct PortCounts: Equatable, Sendable {
        public var packetsIn: UInt64 = 0
        public var bytesIn: UInt64 = 0
        public var packetsOut: UInt64 = 0
        public var bytesOut: UInt64 = 0
    }

    /// New flows, then packets and bytes in either direction of those flows.
    public struct FlowCounts: Equatable, Sendable {
        public var flows: UInt64 = 0
        public var packets: UInt64 = 0
        public var bytes: UInt64 = 0
    }

    public private(set) var ports: [PortCounts]
    public private(set) var endpoints: [FlowCounts]
    /// Indexed by global node number (see `Dataplane.nodeIndex`).
    public private(set) var nodes: [FlowCounts]
    public private(set) var targets: [FlowCounts]
    public private(set) var drops: [UInt64]
    public private(set) var resets: [UInt64]
    public internal(set) var sessionsCreated: UInt64 = 0
    public internal(set) var sessionsExpired: UInt64 = 0
    public internal(set) var sessionsClosed: UInt64 = 0

    init(ports: Int, endpoints: Int, nodes: Int, targets: Int) {
        self.ports = [PortCounts](repeating: PortCounts(), count: ports)
        self.endpoints = [FlowCounts](repeating: FlowCounts(), count: endpoints)
        self.nodes = [FlowCounts](repeating: FlowCounts(), count: nodes)
        self.targets = [FlowCounts](repeating: FlowCounts(), count: targets)
        drops = [UInt64](repeating: 0, count: DropReason.allCases.count)
        resets = [UInt64](repeating: 0, count: ResetCause.allCases.count)
    }

    @inline(__always) func received(port: Int, bytes: Int) {
        ports[port].packetsIn &+= 1
        ports[port].bytesIn &+= UInt64(bytes)
    }

    @inline(__always) func sent(port: Int, bytes: Int) {
        ports[port].packetsOut &+= 1
        ports[port].bytesOut &+= UInt64(bytes)
    }

    @inline(__always) func dropped(_ reason: DropReason) { drops[Int(reason.rawValue)] &+= 1 }
    @inline(__always) func reset(_ cause: ResetCause) { resets[Int(cause.rawValue)] &+= 1 }

    @inline(__always) func translated(endpoint: Int, node: Int, target: Int, bytes: Int, newFlow: Bool) {
        let add: UInt64 = newFlow ? 1 : 0
        endpoints[endpoint].flows &+= add
        endpoints[endpoint].packets &+= 1
        endpoints[endpoint].bytes &+= UInt64(bytes)
        nodes[node].flows &+= add
        nodes[node].packets &+= 1
        nodes[node].bytes &+= UInt64(bytes)
        targets[target].flows &+= add
        targets[target].packets &+= 1
        targets[target].bytes &+= UInt64(bytes)
    }

    /// Takes over another set of counts under a new numbering (after a reload).
    func carry(from old: Counters, ports portMap: [Int?], endpoints endpointMap: [Int?], nodes nodeMap: [Int?],
               targets targetMap: [Int?]) {
        for (oldIndex, newIndex) in portMap.enumerated() { if let newIndex { ports[newIndex] = old.ports[oldIndex] } }
        for (oldIndex, newIndex) in endpointMap.enumerated() { if let newIndex { endpoints[newIndex] = old.endpoints[oldIndex] } }
        for (oldIndex, newIndex) in nodeMap.enumerated() { if let newIndex { nodes[newIndex] = old.nodes[oldIndex] } }
        for (oldIndex, newIndex) in targetMap.enumerated() { if let newIndex { targets[newIndex] = old.targets[oldIndex] } }
        drops = old.drops
        resets = old.resets
        sessionsCreated = old.sessionsCreated
        sessionsExpired = old.sessionsExpired
        sessionsClosed = old.sessionsClosed
    }

    public func drops(_ reason: DropReason) -> UInt64 { drops[Int(reason.rawValue)] }
    public func resets(_ cause: ResetCause) -> UInt64 { resets[Int(cause.rawValue)] }
    public var totalDrops: UInt64 { drops.reduce(0, &+) }
}
