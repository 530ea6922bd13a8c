// NLB target choice for every (load balancer, listener, node): the Maglev table over the targets
// the node may send to, rebuilt off the hot path when health changes.
//
// Which targets a node may send to (aws-behaviour.md §2): with cross-zone off, the targets in
// its own zone; on, all of them. Of those, the healthy ones; when none is healthy, all of them
// (fail-open: an NLB whose targets all fail sends to all, and a zone below the routing threshold,
// one healthy target by default, sends to every target it can reach). An empty candidate set
// means no target at all.

final class Balancer {
    struct Choice {
        /// Global target indices, in the order of the Maglev table's backends.
        var targets: [Int]
        var table: MaglevTable
        /// Source-port pool of the first target of the target group; add the target's position.
        var poolBase: Int
        var failingOpen: Bool
    }

    private(set) var healthy: [Bool]
    /// Per target: some choice it belongs to sends to unhealthy targets because none is healthy.
    private(set) var failingOpen: [Bool]
    /// The ENI of each global node.
    let nodeInterfaces: [Int]
    /// choices[balancer][listener][node]
    private(set) var choices: [[[Choice]]] = []
    /// Position of each target in its target group (to find its pool).
    let targetPositions: [Int]
    let poolCount: Int
    /// Global node numbering: nodeBase[balancer] + node.
    let nodeBase: [Int]
    let nodeCount: Int

    init(tables: ForwardingTables, healthy: [Bool]) {
        self.healthy = healthy
        failingOpen = [Bool](repeating: false, count: healthy.count)
        nodeInterfaces = tables.loadBalancers.flatMap { $0.nodes.map(\.interface) }
        var positions = [Int](repeating: 0, count: tables.targets.count)
        for group in tables.targetGroups {
            for (position, target) in group.targets.enumerated() { positions[target] = position }
        }
        targetPositions = positions
        var pools = 0
        var base: [Int] = []
        var nodes = 0
        for balancer in tables.loadBalancers {
            base.append(nodes)
            nodes += balancer.nodes.count
            for listener in balancer.listeners {
                pools += balancer.nodes.count * tables.targetGroups[listener.targetGroup].targets.count
            }
        }
        nodeBase = base
        nodeCount = nodes
        poolCount = pools
        rebuild(tables: tables)
    }

    /// Rebuilds every table from the current health (off the hot path).
    func rebuild(tables: ForwardingTables) {
        var pool = 0
        var failing = [Bool](repeating: false, count: healthy.count)
        choices = tables.loadBalancers.map { balancer in
            balancer.listeners.map { listener in
                let group = tables.targetGroups[listener.targetGroup]
                return balancer.nodes.map { node in
                    let candidates = group.targets.filter { group.crossZone || tables.targets[$0].zone == node.zone }
                    let live = candidates.filter { healthy[$0] }
                    let chosen = live.isEmpty ? candidates : live
                    let choice = Choice(targets: chosen, table: MaglevTable(backendKeys: chosen.map { tables.targets[$0].stableKey }),
                                        poolBase: pool, failingOpen: live.isEmpty && !candidates.isEmpty)
                    pool += group.targets.count
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
        return (target, choice.poolBase + targetPositions[target])
    }
}
