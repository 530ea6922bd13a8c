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
    /// The ENI of each global node.
    let nodeInterfaces: [Int]
    /// choices[balancer][listener][node]
    private(set) var choices: [[[Choice]]] = []
    /// The source-port pool of (global node, target): pools[node * targetCount + target]. One
    /// pool per (node ENI, target address and port), however many listeners or target groups
    /// lead there, since they share the 5-tuple space the pool guards.
    private let pools: [Int32]
    private let targetCount: Int
    let poolCount: Int
    /// Global node numbering: nodeBase[balancer] + node.
    let nodeBase: [Int]
    let nodeCount: Int
    /// Per target: its group belongs to a Gateway Load Balancer.
    private let gatewayTargets: [Bool]

    init(tables: ForwardingTables, healthy: [Bool]) {
        self.healthy = healthy
        failingOpen = [Bool](repeating: false, count: healthy.count)
        nodeInterfaces = tables.loadBalancers.flatMap { $0.nodes.map(\.interface) }
        var base: [Int] = []
        var nodes = 0
        for balancer in tables.loadBalancers {
            base.append(nodes)
            nodes += balancer.nodes.count
        }
        nodeBase = base
        nodeCount = nodes
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
        var pools = [Int32](repeating: 0, count: nodes * tables.targets.count)
        for (node, interface) in nodeInterfaces.enumerated() {
            for (index, target) in tables.targets.enumerated() {
                let key = PoolKey(node: interface, interface: target.interface, port: target.port)
                let pool = numbering[key] ?? Int32(numbering.count)
                numbering[key] = pool
                pools[node * tables.targets.count + index] = pool
            }
        }
        self.pools = pools
        poolCount = numbering.count
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

    /// The balancer and node of a global node number.
    func location(globalNode: Int) -> (balancer: Int, node: Int) {
        var balancer = 0
        while balancer + 1 < nodeBase.count && nodeBase[balancer + 1] <= globalNode { balancer += 1 }
        return (balancer, globalNode - nodeBase[balancer])
    }

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
        return (target, pool(globalNode: nodeBase[balancer] + node, target: target))
    }

    @inline(__always)
    func pool(globalNode: Int, target: Int) -> Int { Int(pools[globalNode * targetCount + target]) }
}
