// Counters per port, endpoint, load balancer node and target, and drops by reason: plain
// integer blocks allocated with the tables, bumped on the hot path through raw pointers held in a
// plain value (`CountBlocks`: no copy-on-write checks, no reference counting), read by reports
// through value snapshots.

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

/// Where the counts are, and the counting: what the packet path holds. A value of pointers, so
/// that bumping a count several times a packet costs no retain and release of the `Counters`
/// object that owns the memory.
struct CountBlocks {
    let ports: UnsafeMutablePointer<PortCounts>
    let endpoints: UnsafeMutablePointer<FlowCounts>
    let nodes: UnsafeMutablePointer<FlowCounts>
    let targets: UnsafeMutablePointer<FlowCounts>
    let drops: UnsafeMutablePointer<UInt64>
    let resets: UnsafeMutablePointer<UInt64>

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

    /// A packet of a balanced flow, through an endpoint or not.
    @inline(__always) func balanced(endpoint: Int?, node: Int, target: Int, bytes: Int, newFlow: Bool) {
        let add: UInt64 = newFlow ? 1 : 0
        if let endpoint {
            endpoints[endpoint].flows &+= add
            endpoints[endpoint].packets &+= 1
            endpoints[endpoint].bytes &+= UInt64(bytes)
        }
        nodes[node].flows &+= add
        nodes[node].packets &+= 1
        nodes[node].bytes &+= UInt64(bytes)
        targets[target].flows &+= add
        targets[target].packets &+= 1
        targets[target].bytes &+= UInt64(bytes)
    }
}

public final class Counters {
    /// The counts' memory, which this object owns.
    let blocks: CountBlocks
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
    /// With several workers, sessions whose replies another worker owns (a preserved client's
    /// port below the service's: Sharding.swift).
    public internal(set) var sessionsAwayFromOwner: UInt64 = 0

    init(ports: Int, endpoints: Int, nodes: Int, targets: Int) {
        portCount = ports
        endpointCount = endpoints
        nodeCount = nodes
        targetCount = targets
        func block<Count>(_ count: Int, _ zero: Count) -> UnsafeMutablePointer<Count> {
            let block = UnsafeMutablePointer<Count>.allocate(capacity: max(count, 1))
            block.initialize(repeating: zero, count: max(count, 1))
            return block
        }
        blocks = CountBlocks(ports: block(ports, PortCounts()), endpoints: block(endpoints, FlowCounts()),
                             nodes: block(nodes, FlowCounts()), targets: block(targets, FlowCounts()),
                             drops: block(DropReason.allCases.count, 0), resets: block(ResetCause.allCases.count, 0))
    }

    deinit {
        blocks.ports.deallocate()
        blocks.endpoints.deallocate()
        blocks.nodes.deallocate()
        blocks.targets.deallocate()
        blocks.drops.deallocate()
        blocks.resets.deallocate()
    }

    // MARK: Reading

    public var ports: [PortCounts] { Array(UnsafeBufferPointer(start: blocks.ports, count: portCount)) }
    public var endpoints: [FlowCounts] { Array(UnsafeBufferPointer(start: blocks.endpoints, count: endpointCount)) }
    /// Indexed by global node number (see `Dataplane.nodeIndex`).
    public var nodes: [FlowCounts] { Array(UnsafeBufferPointer(start: blocks.nodes, count: nodeCount)) }
    public var targets: [FlowCounts] { Array(UnsafeBufferPointer(start: blocks.targets, count: targetCount)) }
    public func drops(_ reason: DropReason) -> UInt64 { blocks.drops[Int(reason.rawValue)] }
    public func resets(_ cause: ResetCause) -> UInt64 { blocks.resets[Int(cause.rawValue)] }
    public var totalDrops: UInt64 { (0..<DropReason.allCases.count).reduce(0) { $0 &+ blocks.drops[$1] } }

    /// Takes over another set of counts under a new numbering (after a reload).
    func carry(from old: Counters, ports portMap: [Int?], endpoints endpointMap: [Int?], nodes nodeMap: [Int?],
               targets targetMap: [Int?]) {
        for (oldIndex, newIndex) in portMap.enumerated() { if let newIndex { blocks.ports[newIndex] = old.blocks.ports[oldIndex] } }
        for (oldIndex, newIndex) in endpointMap.enumerated() {
            if let newIndex { blocks.endpoints[newIndex] = old.blocks.endpoints[oldIndex] }
        }
        for (oldIndex, newIndex) in nodeMap.enumerated() { if let newIndex { blocks.nodes[newIndex] = old.blocks.nodes[oldIndex] } }
        for (oldIndex, newIndex) in targetMap.enumerated() { if let newIndex { blocks.targets[newIndex] = old.blocks.targets[oldIndex] } }
        blocks.drops.update(from: old.blocks.drops, count: DropReason.allCases.count)
        blocks.resets.update(from: old.blocks.resets, count: ResetCause.allCases.count)
        sessionsCreated = old.sessionsCreated
        sessionsExpired = old.sessionsExpired
        sessionsClosed = old.sessionsClosed
        sessionsEvicted = old.sessionsEvicted
        flowsRebalanced = old.flowsRebalanced
        sessionsAwayFromOwner = old.sessionsAwayFromOwner
    }

    /// The counts of several workers added up (each worker counts its own).
    public static func sum(_ all: [Counters]) -> Counters {
        let first = all[0]
        let total = Counters(ports: first.portCount, endpoints: first.endpointCount, nodes: first.nodeCount, targets: first.targetCount)
        func add<Count>(_ into: UnsafeMutablePointer<Count>, _ from: UnsafeMutablePointer<Count>, _ count: Int, _ plus: (inout Count, Count) -> Void) {
            for index in 0..<count { plus(&into[index], from[index]) }
        }
        for counters in all {
            add(total.blocks.ports, counters.blocks.ports, first.portCount) {
                $0.packetsIn &+= $1.packetsIn; $0.bytesIn &+= $1.bytesIn; $0.packetsOut &+= $1.packetsOut; $0.bytesOut &+= $1.bytesOut
            }
            let flows: (inout FlowCounts, FlowCounts) -> Void = { $0.flows &+= $1.flows; $0.packets &+= $1.packets; $0.bytes &+= $1.bytes }
            add(total.blocks.endpoints, counters.blocks.endpoints, first.endpointCount, flows)
            add(total.blocks.nodes, counters.blocks.nodes, first.nodeCount, flows)
            add(total.blocks.targets, counters.blocks.targets, first.targetCount, flows)
            add(total.blocks.drops, counters.blocks.drops, DropReason.allCases.count) { $0 &+= $1 }
            add(total.blocks.resets, counters.blocks.resets, ResetCause.allCases.count) { $0 &+= $1 }
            total.sessionsCreated &+= counters.sessionsCreated
            total.sessionsExpired &+= counters.sessionsExpired
            total.sessionsClosed &+= counters.sessionsClosed
            total.sessionsEvicted &+= counters.sessionsEvicted
            total.flowsRebalanced &+= counters.flowsRebalanced
            total.sessionsAwayFromOwner &+= counters.sessionsAwayFromOwner
        }
        return total
    }
}
