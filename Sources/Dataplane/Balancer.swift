// NLB target choice for every (load balancer, listener, node): the Maglev table over the targets
// the node may send to, rebuilt off the hot path when health changes.
//
// Which targets a node may send to (docs/aws-behaviour.md §2): with cross-zone off, the targets in
// its own zone; on, all of them. Of those, the healthy ones; when none is healthy, all of them
// (fail-open: an NLB whose targets all fail sends to all, and a zone below the routing threshold,
// one healthy target by default, sends to every target it can reach). An empty candidate set
// means no target at all.

final class Balancer {
    struct Choice {
        /// Global target indices, in the order of the Maglev table's backends.
        var targets: [Int]
        var table: MaglevTable
        var failingOpen: Bool
    }

    private(set) var healthy: [Bool]
    /// Per target: some choice it belongs to sends to unhealthy targets because none is healthy.
    private(set) var failingOpen: [Bool]
    /// choices[balancer][listener][node]
    private(set) var choices: [[[Choice]]] = []
    /// The source-port pool of (global node, target): pools[node * targetCount + target]. One
    /// pool per (node ENI, target address and port), however many listeners or target groups
    /// lead there, since they share the 5-tuple space the pool guards.
    private let pools: [Int32]
    private let targetCount: Int
    let poolCount: Int
    /// Per pool, its target's port (which with the NAT port names a translated flow's worker).
    let poolTargetPorts: [UInt16]
    /// The tables' node numbering (`NodeNumbering`), which the pools are indexed by.
    let nodes: NodeNumbering
    /// Per target: its group belongs to a Gateway Load Balancer.
    private let gatewayTargets: [Bool]

    init(tables: ForwardingTables, healthy: [Bool]) {
        self.healthy = healthy
        failingOpen = [Bool](repeating: false, count: healthy.count)
        nodes = tables.nodes
        targetCount = tables.targets.count
        var gateway = [Bool](repeating: false, count: tables.targets.count)
        for balancer in tables.loadBalancers where balancer.isGateway {
            for listener in balancer.listeners {
                for target in tables.targetGroups[listener.targetGroup].targets { gateway[target] = true }
            }
        }
        gatewayTargets = gateway
        struct PoolKey: Hashable {
            var node: Int
            var interface: Int
            var port: UInt16
        }
        var numbering: [PoolKey: Int32] = [:]
        var pools = [Int32](repeating: 0, count: nodes.count * tables.targets.count)
        var targetPorts: [UInt16] = []
        for (node, interface) in nodes.interfaces.enumerated() {
            for (index, target) in tables.targets.enumerated() {
                let key = PoolKey(node: interface, interface: target.interface, port: target.port)
                let pool = numbering[key] ?? Int32(numbering.count)
                if numbering[key] == nil { targetPorts.append(target.port) }
                numbering[key] = pool
                pools[node * tables.targets.count + index] = pool
            }
        }
        self.pools = pools
        poolCount = numbering.count
        poolTargetPorts = targetPorts
        rebuild(tables: tables)
    }

    /// Rebuilds every table from the current health (off the hot path).
    func rebuild(tables: ForwardingTables) {
        var failing = [Bool](repeating: false, count: healthy.count)
        choices = tables.loadBalancers.map { balancer in
            balancer.listeners.map { listener in
                let group = tables.targetGroups[listener.targetGroup]
                return balancer.nodes.map { node in
                    let candidates = group.targets.filter { group.crossZone || tables.targets[$0].zone == node.zone }
                    let live = candidates.filter { healthy[$0] }
                    let chosen = live.isEmpty ? candidates : live
                    let choice = Choice(targets: chosen, table: MaglevTable(backendKeys: chosen.map { tables.targets[$0].stableKey }),
                                        failingOpen: live.isEmpty && !candidates.isEmpty)
                    if choice.failingOpen { for target in chosen { failing[target] = true } }
                    return choice
                }
            }
        }
        failingOpen = failing
    }

    /// Whether the choice that `target` belongs to is failing open (all its candidates down).
    func isFailingOpen(target: Int) -> Bool {
        failingOpen[target]
    }

    /// Whether a node's choice has no healthy target and sends to all of them.
    func isFailingOpen(balancer: Int, listener: Int, node: Int) -> Bool {
        choices[balancer][listener][node].failingOpen
    }

    func isGateway(target: Int) -> Bool { gatewayTargets[target] }

    func setHealthy(_ target: Int, _ value: Bool, tables: ForwardingTables) {
        guard healthy[target] != value else { return }
        healthy[target] = value
        rebuild(tables: tables)
    }

    /// The target for a new flow's hash, and the source-port pool it draws from.
    @inline(__always)
    func choose(balancer: Int, listener: Int, node: Int, hash: UInt64) -> (target: Int, pool: Int)? {
        let choice = choices[balancer][listener][node]
        guard let backend = choice.table.backend(for: hash) else { return nil }
        let target = choice.targets[backend]
        return (target, pool(node: nodes.number(balancer: balancer, node: node), target: target))
    }

    @inline(__always)
    func pool(node: Int, target: Int) -> Int { Int(pools[node * targetCount + target]) }
}
