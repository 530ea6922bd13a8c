// Counters per port, endpoint, load balancer node and target, and drops by reason: plain
// integer blocks allocated with the tables, bumped on the hot path through raw pointers (no
// copy-on-write checks, no reference counting), read by reports through value snapshots.

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

    private let portCounts: UnsafeMutablePointer<PortCounts>
    private let endpointCounts: UnsafeMutablePointer<FlowCounts>
    private let nodeCounts: UnsafeMutablePointer<FlowCounts>
    private let targetCounts: UnsafeMutablePointer<FlowCounts>
    private let dropCounts: UnsafeMutablePointer<UInt64>
    private let resetCounts: UnsafeMutablePointer<UInt64>
    let portCount: Int
    let endpointCount: Int
    let nodeCount: Int
    let targetCount: Int
    public internal(set) var sessionsCreated: UInt64 = 0
    public internal(set) var sessionsExpired: UInt64 = 0
    public internal(set) var sessionsClosed: UInt64 = 0
    /// Closed or half-open sessions ended early to make room for a new flow (Expiry.swift).
    public internal(set) var sessionsEvicted: UInt64 = 0
    /// GWLB flows moved off an unhealthy appliance (`rebalance`).
    public internal(set) var flowsRebalanced: UInt64 = 0

    init(ports: Int, endpoints: Int, nodes: Int, targets: Int) {
        portCount = ports
        endpointCount = endpoints
        nodeCount = nodes
        targetCount = targets
        portCounts = .allocate(capacity: max(ports, 1))
        portCounts.initialize(repeating: PortCounts(), count: max(ports, 1))
        endpointCounts = .allocate(capacity: max(endpoints, 1))
        endpointCounts.initialize(repeating: FlowCounts(), count: max(endpoints, 1))
        nodeCounts = .allocate(capacity: max(nodes, 1))
        nodeCounts.initialize(repeating: FlowCounts(), count: max(nodes, 1))
        targetCounts = .allocate(capacity: max(targets, 1))
        targetCounts.initialize(repeating: FlowCounts(), count: max(targets, 1))
        dropCounts = .allocate(capacity: DropReason.allCases.count)
        dropCounts.initialize(repeating: 0, count: DropReason.allCases.count)
        resetCounts = .allocate(capacity: ResetCause.allCases.count)
        resetCounts.initialize(repeating: 0, count: ResetCause.allCases.count)
    }

    deinit {
        portCounts.deallocate()
        endpointCounts.deallocate()
        nodeCounts.deallocate()
        targetCounts.deallocate()
        dropCounts.deallocate()
        resetCounts.deallocate()
    }

    // MARK: Reading

    public var ports: [PortCounts] { Array(UnsafeBufferPointer(start: portCounts, count: portCount)) }
    public var endpoints: [FlowCounts] { Array(UnsafeBufferPointer(start: endpointCounts, count: endpointCount)) }
    /// Indexed by global node number (see `Dataplane.nodeIndex`).
    public var nodes: [FlowCounts] { Array(UnsafeBufferPointer(start: nodeCounts, count: nodeCount)) }
    public var targets: [FlowCounts] { Array(UnsafeBufferPointer(start: targetCounts, count: targetCount)) }
    public func drops(_ reason: DropReason) -> UInt64 { dropCounts[Int(reason.rawValue)] }
    public func resets(_ cause: ResetCause) -> UInt64 { resetCounts[Int(cause.rawValue)] }
    public var totalDrops: UInt64 { (0..<DropReason.allCases.count).reduce(0) { $0 &+ dropCounts[$1] } }

    // MARK: Counting

    @inline(__always) func received(port: Int, bytes: Int) {
        portCounts[port].packetsIn &+= 1
        portCounts[port].bytesIn &+= UInt64(bytes)
    }

    @inline(__always) func sent(port: Int, bytes: Int) {
        portCounts[port].packetsOut &+= 1
        portCounts[port].bytesOut &+= UInt64(bytes)
    }

    @inline(__always) func dropped(_ reason: DropReason) { dropCounts[Int(reason.rawValue)] &+= 1 }
    @inline(__always) func reset(_ cause: ResetCause) { resetCounts[Int(cause.rawValue)] &+= 1 }

    /// A packet of a balanced flow, through an endpoint or not.
    @inline(__always) func balanced(endpoint: Int?, node: Int, target: Int, bytes: Int, newFlow: Bool) {
        let add: UInt64 = newFlow ? 1 : 0
        if let endpoint {
            endpointCounts[endpoint].flows &+= add
            endpointCounts[endpoint].packets &+= 1
            endpointCounts[endpoint].bytes &+= UInt64(bytes)
        }
        nodeCounts[node].flows &+= add
        nodeCounts[node].packets &+= 1
        nodeCounts[node].bytes &+= UInt64(bytes)
        targetCounts[target].flows &+= add
        targetCounts[target].packets &+= 1
        targetCounts[target].bytes &+= UInt64(bytes)
    }

    /// Takes over another set of counts under a new numbering (after a reload).
    func carry(from old: Counters, ports portMap: [Int?], endpoints endpointMap: [Int?], nodes nodeMap: [Int?],
               targets targetMap: [Int?]) {
        for (oldIndex, newIndex) in portMap.enumerated() { if let newIndex { portCounts[newIndex] = old.portCounts[oldIndex] } }
        for (oldIndex, newIndex) in endpointMap.enumerated() { if let newIndex { endpointCounts[newIndex] = old.endpointCounts[oldIndex] } }
        for (oldIndex, newIndex) in nodeMap.enumerated() { if let newIndex { nodeCounts[newIndex] = old.nodeCounts[oldIndex] } }
        for (oldIndex, newIndex) in targetMap.enumerated() { if let newIndex { targetCounts[newIndex] = old.targetCounts[oldIndex] } }
        dropCounts.update(from: old.dropCounts, count: DropReason.allCases.count)
        resetCounts.update(from: old.resetCounts, count: ResetCause.allCases.count)
        sessionsCreated = old.sessionsCreated
        sessionsExpired = old.sessionsExpired
        sessionsClosed = old.sessionsClosed
        sessionsEvicted = old.sessionsEvicted
        flowsRebalanced = old.flowsRebalanced
    }
}
