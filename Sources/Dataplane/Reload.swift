// Swapping in a new set of tables between batches (a reloaded topology). Sessions refer to
// ports, targets, nodes and endpoints by index; a reload renumbers them by stable identity (port
// names, target keys, ENI and endpoint IDs), keeps every session whose ports and target remain,
// and ends the others. Health of targets that remain is kept; new targets start healthy.

extension Dataplane {
    /// Replaces the tables; returns how many sessions could not be kept.
    @discardableResult
    public func replaceTables(_ new: ForwardingTables) -> Int {
        let old = tables
        let portMap = Dataplane.map(old.ports.map(\.name), to: new.ports.map(\.name))
        let targetMap = Dataplane.map(old.targets.map(\.stableKey), to: new.targets.map(\.stableKey))
        let interfaceMap = Dataplane.map(old.interfaces.map(\.id), to: new.interfaces.map(\.id))
        let endpointMap = Dataplane.map(old.endpoints.map(\.id), to: new.endpoints.map(\.id))
        let oldNodes = Dataplane.nodeNames(old), newNodes = Dataplane.nodeNames(new)
        let nodeMap = Dataplane.map(oldNodes, to: newNodes)

        var health = [Bool](repeating: true, count: new.targets.count)
        for (oldIndex, newIndex) in targetMap.enumerated() { if let newIndex { health[newIndex] = balancer.healthy[oldIndex] } }
        let newBalancer = Balancer(tables: new, healthy: health)
        let newPorts = PortAllocators(poolCount: newBalancer.poolCount, portsPerPool: configuration.portsPerPool,
                                      shard: configuration.shard, targetPorts: newBalancer.poolTargetPorts)
        let newCounters = counters.remapped(ports: portMap, endpoints: endpointMap, nodes: nodeMap, targets: targetMap,
                                            sizes: (new.ports.count, new.endpoints.count, new.nodes.count, new.targets.count))

        var ended = 0
        func end(_ index: Int) {
            endSession(index, now: flows.sessions[index].lastSeen, reason: .closed)
            ended += 1
        }
        for index in 0..<flows.capacity where flows.sessions[index].inUse {
            let session = flows.sessions + index
            guard let forwardPort = portMap[Int(session.pointee.forwardPort)],
                  let reversePort = portMap[Int(session.pointee.reversePort)] else {
                end(index)
                continue
            }
            session.pointee.forwardPort = UInt16(forwardPort)
            session.pointee.reversePort = UInt16(reversePort)
            if session.pointee.kind == .gatewayLoadBalancer {
                // The tunnel stays as it was (addresses, port, cookie); the endpoint and node
                // must remain. An appliance that was deregistered keeps the flows it has.
                let endpoint = session.pointee.endpoint.renumbered(endpointMap)
                let node = session.pointee.node.renumbered(nodeMap)
                let endpointInterface = session.pointee.endpointInterface.renumbered(interfaceMap)
                guard let appliancePort = portMap[Int(session.pointee.appliancePort)],
                      let newEndpoint = endpoint.index, new.endpoints[newEndpoint].loadBalancer != nil,
                      !node.isNone, !endpointInterface.isNone else {
                    end(index)
                    continue
                }
                session.pointee.appliancePort = UInt16(appliancePort)
                session.pointee.endpoint = endpoint
                session.pointee.node = node
                session.pointee.endpointInterface = endpointInterface
                session.pointee.target = session.pointee.target.renumbered(targetMap)
                continue
            }
            guard session.pointee.kind == .endpoint || session.pointee.kind == .loadBalancer else { continue }
            // A deregistered target's flows go on (deregistration_delay.connection_termination is
            // off by default, docs/aws-behaviour.md §2), tied to no target any more.
            let target = session.pointee.target.renumbered(targetMap)
            if target.isNone {
                session.pointee.portPool = .none
                session.pointee.target = .none
                session.pointee.node = session.pointee.node.renumbered(nodeMap)
                session.pointee.endpoint = session.pointee.endpoint.renumbered(endpointMap)
                session.pointee.endpointInterface = session.pointee.endpointInterface.renumbered(interfaceMap)
                continue
            }
            // A flow through an endpoint needs its endpoint and ENI still there; a client of the
            // NLB in its own VPC came through none.
            let throughEndpoint = session.pointee.kind == .endpoint
            let endpoint = session.pointee.endpoint.renumbered(endpointMap)
            let endpointInterface = session.pointee.endpointInterface.renumbered(interfaceMap)
            let node = session.pointee.node.renumbered(nodeMap)
            guard let newTarget = target.index, let newNode = node.index,
                  !throughEndpoint || (!endpoint.isNone && !endpointInterface.isNone),
                  let (balancerIndex, _) = new.nodes.location(newNode),
                  new.loadBalancers[balancerIndex].listeners.contains(where: {
                      $0.targetGroup == new.targets[newTarget].targetGroup }) else {
                end(index)
                continue
            }
            // Flows that preserve the client's address hold no source port.
            if !session.pointee.portPool.isNone {
                let pool = newBalancer.pool(node: newNode, target: newTarget)
                newPorts.claim(pool: pool, port: session.pointee.natPort)
                session.pointee.portPool = PortPoolIndex(pool)
            }
            session.pointee.target = target
            session.pointee.node = node
            if throughEndpoint {
                session.pointee.endpoint = endpoint
                session.pointee.endpointInterface = endpointInterface
            }
        }
        install(tables: new, balancer: newBalancer, ports: newPorts, counters: newCounters)
        return ended
    }

    /// For each old name, the index of the same name in the new list.
    static func map<Name: Hashable>(_ old: [Name], to new: [Name]) -> [Int?] {
        var positions: [Name: Int] = [:]
        for (index, name) in new.enumerated() where positions[name] == nil { positions[name] = index }
        return old.map { positions[$0] }
    }

    /// "balancer/zone" for every node, in global order.
    static func nodeNames(_ tables: ForwardingTables) -> [String] {
        tables.loadBalancers.flatMap { balancer in balancer.nodes.map { "\(balancer.name)/\(tables.zoneNames[$0.zone])" } }
    }

}

extension PortAllocators {
    /// Marks a port in use (a session carried over a reload keeps its port).
    func claim(pool: Int, port: UInt16) {
        _ = markUsed(pool: pool, port: port)
    }
}

extension Counters {
    /// The counts carried into a new numbering of ports, endpoints, nodes and targets.
    func remapped(ports portMap: [Int?], endpoints endpointMap: [Int?], nodes nodeMap: [Int?], targets targetMap: [Int?],
                  sizes: (Int, Int, Int, Int)) -> Counters {
        let new = Counters(ports: sizes.0, endpoints: sizes.1, nodes: sizes.2, targets: sizes.3)
        new.carry(from: self, ports: portMap, endpoints: endpointMap, nodes: nodeMap, targets: targetMap)
        return new
    }
}

extension TableIndex {
    /// The same entry in the new tables, by `map` (old index to new); none stays none, and an
    /// entry the new tables lack becomes none.
    func renumbered(_ map: [Int?]) -> Self { Self(index.flatMap { map[$0] }) }
}
