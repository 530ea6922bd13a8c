import PacketWire

// New flows to a Network Load Balancer's listener, from a consumer through an interface endpoint
// (PrivateLink) or from a host of the NLB's own VPC at a node's address (an internal NLB), and
// the translation of their packets both ways.
//
// Through an endpoint the target always sees the node's address (docs/aws-behaviour.md §3); from
// the NLB's own VPC it sees the client's own address when the target group preserves it (by default
// for instance targets, and for UDP), and then a target that reaches itself through its NLB
// fails, as AWS's hairpin limit has it. An IPv6 client of a dualstack NLB reaches the targets of
// an `ipv4` group translated to IPv4, from the node's IPv4 address (RFC 7915), and an `ipv6`
// group takes IPv6 clients only.

extension Dataplane {
    // MARK: Interface endpoint → NLB → target

    func endpointFlow(_ packet: ParsedPacket, endpoint: Int, interface: Int, from: Int?, ingress: Int,
                      batch: PacketBatch, index: Int, now: Int64) -> Verdict {
        guard endpointAvailable[endpoint] else { return .drop(Dataplane.dropReason(for: endpointStates[endpoint])) }
        guard packet.isTCP else { return .drop(.endpointNotTCP) }
        guard batch.wireLength(index, ipLength: packet.length) <= configuration.endpointMTU else { return .drop(.endpointOversize) }
        if !packet.isSYN || packet.isACK {
            return packet.isRST ? .drop(.noSession) : reset(packet, batch: batch, index: index, cause: .noFlow)
        }
        if let from, !egressAllowed(from, packet) { return .drop(.securityGroupEgress) }
        if !tables.allows(interface, ingress: true, proto: .tcp, port: packet.key.destinationPort, peer: packet.key.source,
                          peerInterface: from) {
            return .drop(.securityGroupIngress)
        }
        guard let balancer = tables.endpoints[endpoint].loadBalancer else { return .drop(.noLoadBalancerNode) }
        guard let listener = listener(balancer, taking: packet) else { return .drop(.noListener) }
        // The node in the endpoint ENI's zone (zones match by AZ ID across accounts).
        let zone = tables.cores[interface].zone
        var node = -1
        for candidate in 0..<tables.loadBalancers[balancer].nodes.count where tables.loadBalancers[balancer].nodes[candidate].zone == zone {
            node = candidate
            break
        }
        guard node >= 0 else { return .drop(.noLoadBalancerNode) }
        return balancedFlow(packet, balancer: balancer, listener: listener, node: node, from: from, endpoint: (endpoint, interface),
                            ingress: ingress, batch: batch, index: index, now: now)
    }

    // MARK: A host of the NLB's VPC → the NLB → target

    /// The first packet of a flow from a host of the NLB's VPC to one of its nodes' addresses, on
    /// a listener's port.
    func loadBalancerFlow(_ packet: ParsedPacket, balancer: Int, node: Int, listener: Int, from: Int?, ingress: Int,
                          batch: PacketBatch, index: Int, now: Int64) -> Verdict {
        if let from, !egressAllowed(from, packet) { return .drop(.securityGroupEgress) }
        return balancedFlow(packet, balancer: balancer, listener: listener, node: node, from: from, endpoint: nil,
                            ingress: ingress, batch: batch, index: index, now: now)
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
    private func balancedFlow(_ packet: ParsedPacket, balancer: Int, listener: Int, node: Int, from: Int?,
                              endpoint: (index: Int, interface: Int)?, ingress: Int, batch: PacketBatch, index: Int,
                              now: Int64) -> Verdict {
        let proto = packet.key.ipProtocol
        let nodeENI = tables.loadBalancers[balancer].nodes[node].interface
        let nodeInterface = tables.cores[nodeENI]
        if nodeInterface.hasSecurityGroups
            && !tables.allows(nodeENI, ingress: true, proto: proto, port: packet.key.destinationPort, peer: packet.key.source,
                              peerInterface: from) {
            return .drop(.securityGroupIngress)
        }
        let group = tables.loadBalancers[balancer].listeners[listener].targetGroup
        let ipv6Targets = tables.targetGroups[group].ipv6Targets
        if packet.key.isIPv4 && ipv6Targets { return .drop(.ipv4ClientToIPv6Targets) }
        // TCP hashes the SYN's sequence number too (docs/aws-behaviour.md §1).
        let choiceHash = FlowHash.targetChoice(packet.key, initialSequence: packet.isTCP ? packet.sequence : 0, seed: configuration.seed)
        guard let (target, pool) = self.balancer.choose(balancer: balancer, listener: listener, node: node, hash: choiceHash) else {
            return .drop(.noTarget)
        }
        let targetENI = tables.targets[target].interface
        let targetServicePort = tables.targets[target].port
        let targetInterface = tables.cores[targetENI]
        guard case .host(let targetPort) = targetInterface.owner else { return .drop(.noTarget) }
        let nodeAddress: FlowAddress, targetAddress: FlowAddress
        if ipv6Targets {
            guard let a = nodeInterface.ipv6, let b = targetInterface.ipv6 else { return .drop(.noIPv6Path) }
            (nodeAddress, targetAddress) = (FlowAddress(a), FlowAddress(b))
        } else {
            guard let a = nodeInterface.ipv4, let b = targetInterface.ipv4 else { return .drop(.noTarget) }
            (nodeAddress, targetAddress) = (FlowAddress(a), FlowAddress(b))
        }
        // Through an endpoint, or translated between the families, the target sees the node's
        // address; otherwise the client's, when the group preserves it (§2, §3).
        let preserve = endpoint == nil && tables.targetGroups[group].preserveClientIp && packet.key.isIPv4 != ipv6Targets
        let seenFrom = preserve ? packet.key.source : nodeAddress
        if preserve && seenFrom == targetAddress { return .drop(.loadBalancerHairpin) }
        if !tables.allows(targetENI, ingress: true, proto: proto, port: targetServicePort, peer: seenFrom,
                          peerInterface: preserve ? from : nodeENI) {
            return .drop(.securityGroupIngress)
        }
        var reverse = packet.key
        reverse.family = ipv6Targets ? 6 : 4
        reverse.sourceHigh = targetAddress.high
        reverse.sourceLow = targetAddress.low
        reverse.destinationHigh = seenFrom.high
        reverse.destinationLow = seenFrom.low
        reverse.sourcePort = targetServicePort
        reverse.destinationPort = packet.key.sourcePort
        // The client's own port with its own address: another flow of the target may have it.
        if preserve && flows.lookup(reverse) != nil { return .drop(.targetTupleInUse) }
        var natPort: UInt16?
        if !preserve {
            guard let port = allocatePort(pool: pool, now: now) else { return .drop(.portExhausted) }
            natPort = port
            reverse.destinationPort = port
        }
        guard let session = insertSession(forward: packet.key, reverse: reverse, now: now) else {
            if let natPort { ports.release(pool: pool, port: natPort) }
            return .drop(.flowTableFull)
        }
        let record = flows.sessions + session
        start(record, kind: endpoint == nil ? .loadBalancer : .endpoint, forwardPort: targetPort, reversePort: ingress,
              timeout: tables.loadBalancers[balancer].listeners[listener].idleTimeout, tcp: packet, now: now)
        record.pointee.target = UInt32(target)
        if let natPort {
            record.pointee.portAllocator = UInt32(pool)
            record.pointee.natPort = natPort
        }
        if let endpoint {
            record.pointee.endpoint = UInt16(endpoint.index)
            record.pointee.endpointInterface = UInt32(endpoint.interface)
        }
        record.pointee.node = UInt16(nodeIndex(balancer: balancer, node: node))
        if packet.isTCP { record.pointee.kindState = proxyHeader(forGroup: group, endpoint: endpoint?.index, syn: packet).word }
        record.pointee.forwardDelta = ParsedPacket.deltas(from: packet.key, to: reverse.reversed)
        record.pointee.reverseDelta = ParsedPacket.deltas(from: reverse, to: packet.key.reversed)
        counters.sessionsCreated &+= 1
        counters.balanced(endpoint: endpoint?.index, node: Int(record.pointee.node), target: target, bytes: batch.lengths[index],
                          newFlow: true)
        if let refusal = translate(packet, session: record, direction: .forward, batch: batch, index: index) {
            endSession(session, now: now, reason: .closed)
            return .drop(refusal)
        }
        track(record, packet: packet, direction: .forward, bytes: batch.lengths[index], now: now)
        return .forward(targetPort)
    }

    // MARK: Translation

    /// Translates a packet of a balanced session in `direction`: addresses and ports (and the
    /// IP header, between the families), then the Proxy Protocol header's place and the MSS
    /// clamp. Returns why it must be dropped, if it must.
    @inline(__always)
    func translate(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>, direction: FlowDirection, batch: PacketBatch,
                   index: Int) -> DropReason? {
        let key = direction == .forward ? session.pointee.reverse.reversed : session.pointee.forward.reversed
        let delta = direction == .forward ? session.pointee.forwardDelta : session.pointee.reverseDelta
        // Within a family the packet's views still hold after the rewrite; across, it is read again.
        if packet.key.family == key.family {
            packet.rewrite(as: key, delta: delta)
            return afterTranslation(packet, session: session, direction: direction, batch: batch, index: index)
        }
        guard let translated = translateFamily(packet, to: key, delta: delta, batch: batch, index: index) else {
            return .noRoomToTranslate
        }
        return afterTranslation(translated, session: session, direction: direction, batch: batch, index: index)
    }

    @inline(__always)
    private func afterTranslation(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>, direction: FlowDirection,
                                  batch: PacketBatch, index: Int) -> DropReason? {
        if ProxyHeaderState(word: session.pointee.kindState).length > 0 {
            if direction == .forward {
                if let refusal = proxyForward(packet, session: session, batch: batch, index: index) { return refusal }
            } else {
                proxyReverse(packet, session: session)
            }
        }
        if packet.isSYN && session.pointee.clampMSS { clampMSS(packet, session: session) }
        return nil
    }

    /// Rewrites a packet so that it reads as `key`, of the other family: its IP header becomes
    /// the other family's (RFC 7915), in place, and the packet as it now is comes back (the old
    /// views no longer hold). Nil when there is no room in front of the packet for an IPv6
    /// header.
    private func translateFamily(_ packet: ParsedPacket, to key: FlowKey, delta: (header: UInt32, transport: UInt32),
                                 batch: PacketBatch, index: Int) -> ParsedPacket? {
        if let ipv6 = packet.ipv6 {
            FlowPorts.write(protocol: ipv6.upperLayerProtocol, segment: ipv6.upperLayer, sourcePort: key.sourcePort,
                            destinationPort: key.destinationPort, delta: delta.transport)
            let start = FamilyTranslation.toIPv4(ipv6, source: key.sourceIPv4, destination: key.destinationIPv4)
            batch.strip(index, bytes: start, keeping: ipv6.availableLength - start)
        } else if let ipv4 = packet.ipv4 {
            FlowPorts.write(protocol: ipv4.protocol, segment: ipv4.payload, sourcePort: key.sourcePort,
                            destinationPort: key.destinationPort, delta: delta.transport)
            let (typeOfService, ttl, proto) = (ipv4.dscp << 2 | ipv4.ecn, ipv4.ttl, ipv4.protocol)
            let payload = ipv4.availableLength - ipv4.headerLength
            let growth = FamilyTranslation.growth(toIPv6: ipv4)
            if growth > 0 {
                guard batch.prepend(index, bytes: growth) else { return nil }
            } else if growth < 0 {
                batch.strip(index, bytes: -growth, keeping: batch.lengths[index] + growth)
            }
            FamilyTranslation.writeIPv6(at: batch.packets[index], typeOfService: typeOfService, ttl: ttl, protocol: proto,
                                        payloadLength: payload, source: key.sourceIPv6, destination: key.destinationIPv6)
            batch.lengths[index] = IPv6Packet.Offset.fixedHeader + payload
        }
        return try? ParsedPacket(batch.bytes(index))
    }

    /// Lowers the MSS of a SYN or SYN-ACK of an endpoint flow to the endpoint's clamp: the
    /// IPv6 one on both sides of a flow translated between the families, whose segments grow by
    /// 20 bytes on their way to the IPv6 side.
    @inline(__always)
    func clampMSS(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>) {
        let mixed = session.pointee.forward.family != session.pointee.reverse.family
        packet.clampMSS(ipv4: mixed ? configuration.mssClampIPv6 : configuration.mssClampIPv4, ipv6: configuration.mssClampIPv6)
    }
}
