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
        let newPorts = PortAllocators(poolCount: newBalancer.poolCount, portsPerPool: configuration.portsPerPool)
        let newCounters = counters.remapped(ports: portMap, endpoints: endpointMap, nodes: nodeMap, targets: targetMap,
                                            sizes: (new.ports.count, new.endpoints.count, newBalancer.nodeCount, new.targets.count))

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
                guard let appliancePort = portMap[Int(session.pointee.appliancePort)],
                      let endpoint = endpointMap[Int(session.pointee.endpoint)],
                      new.endpoints[endpoint].loadBalancer != nil,
                      let node = nodeMap[Int(session.pointee.node)],
                      let endpointInterface = interfaceMap[Int(session.pointee.endpointInterface)] else {
                    end(index)
                    continue
                }
                session.pointee.appliancePort = UInt16(appliancePort)
                session.pointee.endpoint = UInt16(endpoint)
                session.pointee.node = UInt16(node)
                session.pointee.endpointInterface = UInt32(endpointInterface)
                session.pointee.target = session.pointee.target == Session.none ? Session.none
                    : targetMap[Int(session.pointee.target)].map(UInt32.init) ?? Session.none
                continue
            }
            guard session.pointee.kind == .endpoint || session.pointee.kind == .loadBalancer else { continue }
            // A deregistered target's flows go on (deregistration_delay.connection_termination is
            // off by default, docs/aws-behaviour.md §2), tied to no target any more.
            if session.pointee.target == Session.none || targetMap[Int(session.pointee.target)] == nil {
                if session.pointee.portAllocator != Session.none {
                    session.pointee.portAllocator = Session.none
                }
                session.pointee.target = Session.none
                session.pointee.node = session.pointee.node == UInt16.max ? UInt16.max : nodeMap[Int(session.pointee.node)].map(UInt16.init) ?? UInt16.max
                session.pointee.endpoint = session.pointee.endpoint == UInt16.max ? UInt16.max : endpointMap[Int(session.pointee.endpoint)].map(UInt16.init) ?? UInt16.max
                session.pointee.endpointInterface = session.pointee.endpointInterface == Session.none ? Session.none
                    : interfaceMap[Int(session.pointee.endpointInterface)].map(UInt32.init) ?? Session.none
                continue
            }
            // A flow through an endpoint needs its endpoint and ENI still there; a client of the
            // NLB in its own VPC came through none.
            let throughEndpoint = session.pointee.kind == .endpoint
            let endpoint = throughEndpoint ? endpointMap[Int(session.pointee.endpoint)] : nil
            let endpointInterface = throughEndpoint ? interfaceMap[Int(session.pointee.endpointInterface)] : nil
            guard let target = targetMap[Int(session.pointee.target)],
                  let node = nodeMap[Int(session.pointee.node)],
                  !throughEndpoint || (endpoint != nil && endpointInterface != nil),
                  let (balancerIndex, _) = Dataplane.locate(globalNode: node, in: new),
                  new.loadBalancers[balancerIndex].listeners.contains(where: {
                      $0.targetGroup == new.targets[target].targetGroup }) else {
                end(index)
                continue
            }
            // Flows that preserve the client's address hold no source port.
            if session.pointee.portAllocator != Session.none {
                let pool = newBalancer.pool(globalNode: node, target: target)
                newPorts.claim(pool: pool, port: session.pointee.natPort)
                session.pointee.portAllocator = UInt32(pool)
            }
            session.pointee.target = UInt32(target)
            session.pointee.node = UInt16(node)
            if let endpoint, let endpointInterface {
                session.pointee.endpoint = UInt16(endpoint)
                session.pointee.endpointInterface = UInt32(endpointInterface)
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

    static func locate(globalNode: Int, in tables: ForwardingTables) -> (Int, Int)? {
        var remaining = globalNode
        for (index, balancer) in tables.loadBalancers.enumerated() {
            if remaining < balancer.nodes.count { return (index, remaining) }
            remaining -= balancer.nodes.count
        }
        return nil
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
