import PacketWire

// New flows to a Network Load Balancer's listener: from a consumer through an interface endpoint
// (PrivateLink), or from a host of the NLB's own VPC at a node's address (an internal NLB).
//
// Through an endpoint the target always sees the node's address (docs/aws-behaviour.md §3); from
// the NLB's own VPC it sees the client's own address when the target group preserves it (by
// default for instance targets, and for UDP), and then a target that reaches itself through its
// NLB fails, as AWS's hairpin limit has it. An IPv6 client of a dualstack NLB reaches the targets
// of an `ipv4` group translated to IPv4, from the node's IPv4 address (RFC 7915), and an `ipv6`
// group takes IPv6 clients only.

extension Dataplane {
    // MARK: Interface endpoint → NLB → target

    /// A flow's first packet to an interface endpoint's ENI: what the endpoint carries (only
    /// when available, TCP only, 8500 bytes at most, a flow starts with a SYN), its security
    /// group, the listener, the NLB node of the ENI's zone; then the target and the session.
    func interfaceEndpointFlow(_ c: inout PacketContext, endpoint: Int, interface: Int, from sender: Int?) -> Verdict {
        if let refusal = unavailable(endpoint, at: interface) { return refusal }
        guard c.packet.isTCP else { return .dropped(.endpointNotTCP, at: interface) }
        guard batch.wireLength(c.index, ipLength: c.packet.length) <= configuration.endpointMTU else {
            return .dropped(.endpointOversize, at: interface)
        }
        if !c.packet.isSYN || c.packet.isACK {
            return c.packet.isRST ? .dropped(.noSession, at: interface) : reset(&c, cause: .noFlow)
        }
        guard ingressAllowed(interface, c.packet, from: sender) else { return .dropped(.securityGroupIngress, at: interface) }
        guard let balancer = tables.endpoints[endpoint].loadBalancer else { return .dropped(.noLoadBalancerNode, at: interface) }
        guard let listener = listener(balancer, taking: c.packet) else { return .dropped(.noListener, at: interface) }
        guard let node = node(of: balancer, inZoneOf: interface) else { return .dropped(.noLoadBalancerNode, at: interface) }
        return balancedFlow(&c, balancer: balancer, listener: listener, node: node, from: sender,
                            endpoint: (endpoint, interface))
    }

    // MARK: A host of the NLB's VPC → the NLB → target

    /// A packet of no flow to an NLB node's address: the first packet of a flow to a listener's
    /// port is a client of the NLB in its own VPC; anything else there is the way back to
    /// consumers, closed to the provider (docs/aws-behaviour.md §4), and a later segment of a
    /// forgotten flow gets a RST (§1).
    func loadBalancerNodeFlow(_ c: inout PacketContext, balancer: Int, node: Int, interface: Int, from sender: Int?) -> Verdict {
        let packet = c.packet
        let first = packet.isTCP ? packet.isSYN && !packet.isACK : packet.key.proto == IPProtocol.udp.rawValue
        if first, !tables.loadBalancers[balancer].isGateway, let listener = listener(balancer, taking: packet) {
            return balancedFlow(&c, balancer: balancer, listener: listener, node: node, from: sender, endpoint: nil)
        }
        if packet.isTCP && packet.isSYN && !packet.isACK { return .dropped(.providerInitiated, at: interface) }
        if packet.isTCP && !packet.isRST { return reset(&c, cause: .noFlow) }
        return .dropped(.noSession, at: interface)
    }

    /// The listener of `balancer` that takes `packet`'s protocol on its destination port.
    /// Plain loops: the generic algorithms allocate when they run unspecialised (debug builds);
    /// fields are read in place, since copying a table entry would retain its strings and arrays.
    @inline(__always)
    func listener(_ balancer: Int, taking packet: ParsedPacket) -> Int? {
        for index in 0..<tables.loadBalancers[balancer].listeners.count
        where tables.loadBalancers[balancer].listeners[index].takes(packet.key.proto, port: packet.key.destinationPort) {
            return index
        }
        return nil
    }

    // MARK: The shared part

    /// A new flow through `node` of `balancer` to `listener`'s group: the node's security groups
    /// (which see the client's address), the target the node picks, the address the target sees
    /// (the node's, or the client's own when preserved), the target's security groups, a
    /// source port when the node's address is used, the session, and the first packet
    /// translated. `endpoint` is the endpoint and ENI a PrivateLink flow came through.
    private func balancedFlow(_ c: inout PacketContext, balancer: Int, listener: Int, node: Int, from sender: Int?,
                              endpoint: (index: Int, interface: Int)?) -> Verdict {
        let packet = c.packet
        let nodeENI = tables.loadBalancers[balancer].nodes[node].interface
        let nodeInterface = tables.cores[nodeENI]
        if nodeInterface.hasSecurityGroups && !ingressAllowed(nodeENI, packet, from: sender) {
            return .dropped(.securityGroupIngress, at: nodeENI)
        }
        let group = tables.loadBalancers[balancer].listeners[listener].targetGroup
        let ipv6Targets = tables.targetGroups[group].ipv6Targets
        if packet.key.isIPv4 && ipv6Targets { return .dropped(.ipv4ClientToIPv6Targets, at: nodeENI) }
        // TCP hashes the SYN's sequence number too (docs/aws-behaviour.md §1).
        let choiceHash = FlowHash.targetChoice(packet.key, initialSequence: packet.isTCP ? packet.sequence : 0, seed: configuration.seed)
        guard let (target, pool) = self.balancer.choose(balancer: balancer, listener: listener, node: node, hash: choiceHash) else {
            return .dropped(.noTarget, at: nodeENI)
        }
        let targetENI = tables.targets[target].interface
        let targetServicePort = tables.targets[target].port
        let targetInterface = tables.cores[targetENI]
        guard case .host(let targetPort) = targetInterface.owner else { return .dropped(.noTarget, at: nodeENI) }
        let nodeAddress: FlowAddress, targetAddress: FlowAddress
        if ipv6Targets {
            guard let a = nodeInterface.ipv6, let b = targetInterface.ipv6 else { return .dropped(.noTarget, at: nodeENI) }
            (nodeAddress, targetAddress) = (FlowAddress(a), FlowAddress(b))
        } else {
            guard let a = nodeInterface.ipv4, let b = targetInterface.ipv4 else { return .dropped(.noTarget, at: nodeENI) }
            (nodeAddress, targetAddress) = (FlowAddress(a), FlowAddress(b))
        }
        // Through an endpoint, or translated between the families, the target sees the node's
        // address; otherwise the client's, when the group preserves it (§2, §3).
        let preserve = endpoint == nil && tables.targetGroups[group].preserveClientIp && packet.key.isIPv4 != ipv6Targets
        let seenFrom = preserve ? packet.key.source : nodeAddress
        if preserve && seenFrom == targetAddress { return .dropped(.loadBalancerHairpin, at: nodeENI) }
        // The flow as the target sees it: from the node (or the preserved client) to its own
        // address and port; the source port is the client's until a NAT port is chosen.
        var seen = packet.key
        seen.family = ipv6Targets ? 6 : 4
        seen.sourceHigh = seenFrom.high
        seen.sourceLow = seenFrom.low
        seen.destinationHigh = targetAddress.high
        seen.destinationLow = targetAddress.low
        seen.destinationPort = targetServicePort
        if !tables.allows(targetENI, ingress: true, proto: packet.key.ipProtocol, port: targetServicePort, peer: seenFrom,
                          peerInterface: preserve ? sender : nodeENI) {
            // The REJECT is the target's ENI's, of the flow it saw (no NAT port is chosen for a
            // refused flow).
            batch.refusedFlows[c.index] = seen
            c.refusedAsAnotherFlow = true
            return .dropped(.securityGroupIngress, at: targetENI)
        }
        var reverse = seen.reversed
        // The client's own port with its own address: another flow of the target may have it.
        if preserve && flows.lookup(reverse) != nil { return .dropped(.targetTupleInUse, at: targetENI) }
        // A preserved client whose port is below the listener's or the target's: the target's
        // replies name another worker (Sharding.swift). The kernel steers them here while the
        // flow is busy; counted, since after three idle seconds they may be handed elsewhere.
        if preserve && configuration.shard.count > 1
            && Shard.owner(ports: reverse.sourcePort, reverse.destinationPort, workers: configuration.shard.count) != configuration.shard.index {
            counters.sessionsAwayFromOwner &+= 1
        }
        var natPort: UInt16?
        if !preserve {
            guard let port = allocatePort(pool: pool, now: c.now) else { return .dropped(.portExhausted, at: nodeENI) }
            natPort = port
            reverse.destinationPort = port
        }
        guard let record = startSession(&c, reverse: reverse, kind: endpoint == nil ? .loadBalancer : .endpoint,
                                        forwardPort: targetPort,
                                        timeout: tables.loadBalancers[balancer].listeners[listener].idleTimeout) else {
            if let natPort { ports.release(pool: pool, port: natPort) }
            return .dropped(.flowTableFull)
        }
        let number = tables.nodes.number(balancer: balancer, node: node)
        record.pointee.target = TargetIndex(target)
        if let natPort {
            record.pointee.portPool = PortPoolIndex(pool)
            record.pointee.natPort = natPort
        }
        if let endpoint {
            record.pointee.endpoint = EndpointIndex(endpoint.index)
            record.pointee.endpointInterface = InterfaceIndex(endpoint.interface)
        }
        record.pointee.node = NodeNumber(number)
        if packet.isTCP { record.pointee.kindState = proxyHeader(forGroup: group, endpoint: endpoint?.index, syn: packet).word }
        record.pointee.forwardDelta = ParsedPacket.deltas(from: packet.key, to: reverse.reversed)
        record.pointee.reverseDelta = ParsedPacket.deltas(from: reverse, to: packet.key.reversed)
        count.balanced(endpoint: endpoint?.index, node: number, target: target, bytes: batch.lengths[c.index],
                          newFlow: true)
        c.direction = .forward
        if let refusal = translate(&c, session: record) {
            endSession(record - flows.sessions, now: c.now, reason: .closed)
            return .dropped(refusal)
        }
        track(record, packet: packet, direction: .forward, bytes: batch.lengths[c.index], now: c.now)
        return .forwarded(targetPort)
    }
}
