import PacketWire

extension Dataplane {
    /// A flow's first packet routed to a GWLB endpoint (docs/aws-behaviour.md §6): the endpoint
    /// available, 8500 bytes at most, a TCP flow only from a SYN; the GWLB node of the endpoint's
    /// zone picks an appliance by a symmetric hash, whose security group must let the tunnel in;
    /// the route of the endpoint's subnet says where the packet goes when the appliance returns
    /// it. Then the session, which holds the tunnel, and the packet into it.
    func gatewayLoadBalancerFlow(_ c: inout PacketContext, endpoint: Int, from sender: Int?) -> Verdict {
        let packet = c.packet
        if let refusal = unavailable(endpoint, at: tables.endpoints[endpoint].interface) { return refusal }
        guard let balancerIndex = tables.endpoints[endpoint].loadBalancer, let eni = tables.endpoints[endpoint].interface,
              tables.loadBalancers[balancerIndex].listeners.count == 1 else { return .dropped(.noLoadBalancerNode) }
        guard batch.wireLength(c.index, ipLength: packet.length) <= configuration.gatewayMTU else {
            return .dropped(.gatewayOversize, at: eni)
        }
        // A GWLB starts a flow from its first packet, but a TCP flow only from a SYN: any other
        // segment of a flow it does not know is dropped, or reset when the listener says so.
        if packet.isTCP && (!packet.isSYN || packet.isACK) {
            guard !packet.isRST, tables.loadBalancers[balancerIndex].listeners[0].resetsUnknownFlows else {
                return .dropped(.gatewayNoFlow, at: eni)
            }
            return reset(&c, cause: .gatewayNoFlow)
        }
        guard let node = node(of: balancerIndex, inZoneOf: eni) else { return .dropped(.noLoadBalancerNode, at: eni) }
        let nodeENI = tables.loadBalancers[balancerIndex].nodes[node].interface
        guard let nodeAddress = tables.cores[nodeENI].ipv4 else { return .dropped(.noLoadBalancerNode, at: eni) }
        let group = tables.loadBalancers[balancerIndex].listeners[0].targetGroup
        let flowHash = FlowHash.symmetric(packet.key, seed: configuration.seed)
        var choiceHash = Dataplane.applianceHash(packet.key, stickiness: tables.targetGroups[group].stickiness,
                                                 seed: configuration.seed)
        // What tells this flow from the last one on its 5-tuple: in the packet, not the clock,
        // so that a replay of a live run's capture chooses and tunnels alike.
        let incarnation = FlowHash.finalize(flowHash ^ packet.firstPacketEntropy &* 0x9E37_79B9_7F4A_7C15)
        // With every appliance unhealthy, each new flow gets one at random and keeps it (§6).
        if balancer.isFailingOpen(balancer: balancerIndex, listener: 0, node: node) { choiceHash = incarnation }
        guard let (target, _) = balancer.choose(balancer: balancerIndex, listener: 0, node: node, hash: choiceHash),
              let appliance = appliance(target) else { return .dropped(.noTarget, at: nodeENI) }
        // The appliance's security groups see the tunnel: UDP 6081 from the node (AWS's setup
        // asks for that rule).
        if !tables.allows(appliance.interface, ingress: true, proto: .udp, port: GENEVEHeader.udpPort,
                          peer: FlowAddress(nodeAddress), peerInterface: nodeENI) {
            return .dropped(.securityGroupIngress, at: appliance.interface)
        }
        // Where the packet goes when the appliance returns it: the endpoint subnet's route.
        let egress: Int
        switch route(packet, from: origin(inSubnetOf: eni, sender: sender)) {
        case .host(let port, let interface):
            guard ingressAllowed(interface, packet, from: sender) else { return .dropped(.securityGroupIngress, at: interface) }
            egress = port
        case .outside(let port):
            egress = port
        case .loadBalancerNode(let balancer, let node, let interface):
            let first = packet.isTCP ? packet.isSYN && !packet.isACK : packet.key.proto == IPProtocol.udp.rawValue
            if first, !tables.loadBalancers[balancer].isGateway, listener(balancer, taking: packet) != nil {
                return .dropped(.gatewayChain, at: eni)
            }
            return loadBalancerNodeFlow(&c, balancer: balancer, node: node, interface: interface, from: sender)
        case .interfaceEndpoint, .gatewayLoadBalancerEndpoint:
            return .dropped(.gatewayChain, at: eni)
        case .refused(let verdict):
            return verdict
        }
        let timeout = packet.isTCP ? tables.loadBalancers[balancerIndex].listeners[0].idleTimeout : configuration.gatewayIdleTimeout
        guard let record = startSession(&c, reverse: packet.key.reversed, kind: .gatewayLoadBalancer, forwardPort: egress,
                                        timeout: timeout) else { return .dropped(.flowTableFull) }
        let number = tables.nodes.number(balancer: balancerIndex, node: node)
        record.pointee.target = TargetIndex(target)
        record.pointee.node = NodeNumber(number)
        record.pointee.endpoint = EndpointIndex(endpoint)
        record.pointee.endpointInterface = InterfaceIndex(eni)
        record.pointee.appliancePort = UInt16(appliance.port)
        record.pointee.kindState = GatewayTunnel(node: nodeAddress.value, appliance: appliance.address).word
        // The tunnel's source port from a hash of the inner flow, in the dynamic range (RFC 8926
        // §3.3, for the entropy of ECMP on the way); the cookie, a number of this flow from its
        // first packet (the same again in a replay of its capture).
        record.pointee.tunnelSourcePort = 49152 | UInt16(truncatingIfNeeded: flowHash >> 50)
        record.pointee.cookie = UInt32(truncatingIfNeeded: incarnation >> 32)
        count.balanced(endpoint: endpoint, node: number, target: target, bytes: batch.lengths[c.index],
                          newFlow: true)
        track(record, packet: packet, direction: .forward, bytes: batch.lengths[c.index], now: c.now)
        return tunnel(record, index: c.index)
    }
}
