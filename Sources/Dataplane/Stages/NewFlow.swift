import PacketWire

// A packet of no session starts a flow, and the fabric judges it, in this order, here and only
// here:
//   1. where it comes from: a host's ENI (its source/destination check), the internet gateway,
//      or the health checker, from a load balancer node's address; an AWS service's network
//      starts nothing (gateway endpoints carry replies only);
//   2. a DNS query to the VPC resolver, answered past security groups and routes;
//   3. the route, in the route table of the sender's subnet (or the gateway's edge table), to
//      what owns the destination;
//   4. the sender's security group, outbound;
//   5. what the route reaches: a host (its security group, inbound) or an outside network, as
//      is; an interface endpoint (what it carries, its security group, its listener, the NLB
//      node of its zone, the target and a source port: BalancedFlow.swift); a GWLB endpoint
//      (the GWLB node of its zone and the appliance: GatewayLoadBalancerFlow.swift); a
//      listener of an NLB node, from the NLB's own VPC (BalancedFlow.swift).
// Each kind then starts a session (`startSession`), so that the flow's next packets and its
// replies take the fast path.

extension Dataplane {
    /// Where a new flow is routed from.
    struct Origin {
        var vpc: Int
        /// The route table that routes it; nil for an internet gateway without an edge table,
        /// which delivers to the VPC's own addresses.
        var routeTable: Int?
        /// The ENI that sent it; nil from the internet or the health checker.
        var sender: Int?
    }

    /// What a route reaches, or why there is no way there.
    enum Destination {
        case host(port: Int, interface: Int)
        /// Out of a port to what lies outside the VPCs: the internet, an AWS service's network.
        case outside(port: Int)
        case interfaceEndpoint(endpoint: Int, interface: Int)
        case gatewayLoadBalancerEndpoint(endpoint: Int)
        case loadBalancerNode(balancer: Int, node: Int, interface: Int)
        case refused(Verdict)
    }

    func newFlow(_ c: inout PacketContext) -> Verdict {
        let origin: Origin
        switch tables.ports[c.ingress].kind {
        case .interface(let interface):
            let eni = tables.cores[interface]
            if eni.sourceDestCheck && !owns(eni, c.packet.key.source) { return .dropped(.sourceDestinationCheck, at: interface) }
            if let resolver = toResolver(c.packet, vpc: eni.vpc, sender: interface) { return resolver }
            origin = Origin(vpc: eni.vpc, routeTable: tables.subnetRouteTables[eni.subnet], sender: interface)
        case .internetGateway(let vpc):
            origin = Origin(vpc: vpc, routeTable: tables.vpcs[vpc].edgeRouteTable, sender: nil)
        case .serviceNetwork:
            return .dropped(.serviceCannotInitiate, at: tables.interface(owning: c.packet.key.destination))
        case .resolver:
            return .dropped(.unknownPort)
        case .healthChecks:
            // A probe from a load balancer node's own address to a target, routed in the node's
            // subnet so that the target sees the NLB's address and its security groups apply
            // (docs/aws-behaviour.md §2); the reply comes back to this port through the session.
            guard let node = tables.interface(owning: c.packet.key.source),
                  case .loadBalancerNode = tables.cores[node].owner else { return .dropped(.sourceDestinationCheck) }
            origin = Origin(vpc: tables.cores[node].vpc, routeTable: tables.subnetRouteTables[tables.cores[node].subnet],
                            sender: nil)
        }
        let destination = route(c.packet, from: origin)
        if case .refused(let verdict) = destination { return verdict }
        if let sender = origin.sender, !egressAllowed(sender, c.packet) { return .dropped(.securityGroupEgress, at: sender) }
        switch destination {
        case .host(let port, let interface):
            guard ingressAllowed(interface, c.packet, from: origin.sender) else {
                return .dropped(.securityGroupIngress, at: interface)
            }
            return plainFlow(&c, egress: port)
        case .outside(let port):
            return plainFlow(&c, egress: port)
        case .interfaceEndpoint(let endpoint, let interface):
            return interfaceEndpointFlow(&c, endpoint: endpoint, interface: interface, from: origin.sender)
        case .gatewayLoadBalancerEndpoint(let endpoint):
            return gatewayLoadBalancerFlow(&c, endpoint: endpoint, from: origin.sender)
        case .loadBalancerNode(let balancer, let node, let interface):
            return loadBalancerNodeFlow(&c, balancer: balancer, node: node, interface: interface, from: origin.sender)
        case .refused(let verdict):
            return verdict
        }
    }

    /// The Origin of a flow sent from `interface`'s subnet.
    func origin(inSubnetOf interface: Int, sender: Int?) -> Origin {
        Origin(vpc: tables.cores[interface].vpc, routeTable: tables.subnetRouteTables[tables.cores[interface].subnet],
               sender: sender)
    }

    /// Where the route for `packet`'s destination leads from `origin`.
    func route(_ packet: ParsedPacket, from origin: Origin) -> Destination {
        let destination = packet.key.destination
        var target: ForwardingTables.RouteTarget?
        if let table = origin.routeTable {
            let routes = tables.routeTables[table]
            let found = destination.isIPv4 ? routes.ipv4.lookup(destination.ipv4) : routes.ipv6.lookup(destination.ipv6)
            if let found { target = routes.targets[Int(found)] }
        } else {
            // The internet gateway without an edge route table delivers to the VPC's addresses.
            let vpc = tables.vpcs[origin.vpc]
            var local = false
            if destination.isIPv4 {
                local = vpc.cidr.contains(destination.ipv4)
            } else if let block = vpc.ipv6Cidr {
                local = block.contains(destination.ipv6)
            }
            target = local ? .local : nil
        }
        guard let target else { return .refused(.dropped(.noRoute, at: origin.sender, routeTable: origin.routeTable)) }
        switch target {
        case .local:
            guard let owner = tables.interface(vpc: origin.vpc, address: destination) else {
                return .refused(.dropped(.noSuchAddress, routeTable: origin.routeTable))
            }
            switch tables.cores[owner].owner {
            case .host(let port):
                return .host(port: port, interface: owner)
            case .endpoint(let endpoint):
                if origin.sender == nil {
                    // Endpoint ENIs have no public address; their IPv6 address is closed to the
                    // internet gateway by denyAllIgwTraffic (docs/aws-behaviour.md §5).
                    return .refused(destination.isIPv4 ? .dropped(.noSuchAddress, routeTable: origin.routeTable)
                                                        : .dropped(.denyAllIgwTraffic, at: owner))
                }
                return .interfaceEndpoint(endpoint: endpoint, interface: owner)
            case .loadBalancerNode(let balancer, let node):
                return .loadBalancerNode(balancer: balancer, node: node, interface: owner)
            }
        case .internetGateway:
            guard let port = tables.vpcs[origin.vpc].internetGatewayPort else {
                return .refused(.dropped(.noRoute, at: origin.sender, routeTable: origin.routeTable))
            }
            return .outside(port: port)
        case .gatewayEndpoint(let port):
            return .outside(port: port)
        case .gatewayLoadBalancerEndpoint(let endpoint):
            return .gatewayLoadBalancerEndpoint(endpoint: endpoint)
        }
    }

    // MARK: The sender's and receiver's rules

    private func owns(_ eni: InterfaceCore, _ address: FlowAddress) -> Bool {
        if address.isIPv4 {
            guard let own = eni.ipv4 else { return false }
            return FlowAddress(own) == address
        }
        guard let own = eni.ipv6 else { return false }
        return FlowAddress(own) == address
    }

    /// The sender's security groups let the packet out.
    func egressAllowed(_ interface: Int, _ packet: ParsedPacket) -> Bool {
        let destination = packet.key.destination
        let peer = tables.interface(vpc: tables.cores[interface].vpc, address: destination)
        return tables.allows(interface, ingress: false, proto: packet.key.ipProtocol, port: packet.key.destinationPort,
                             peer: destination, peerInterface: peer)
    }

    /// The receiver's security groups let the packet in, from `sender` (nil from outside).
    func ingressAllowed(_ interface: Int, _ packet: ParsedPacket, from sender: Int?) -> Bool {
        tables.allows(interface, ingress: true, proto: packet.key.ipProtocol, port: packet.key.destinationPort,
                      peer: packet.key.source, peerInterface: sender)
    }

    // MARK: Flows forwarded as they are

    /// A query to the VPC's resolver goes to its port, with no session (DNS over UDP keeps no
    /// state) and past the security groups, which do not filter traffic to or from Amazon DNS
    /// (Amazon VPC User Guide, "Security group rules"). Privet's resolver answers UDP only.
    @inline(__always)
    private func toResolver(_ packet: ParsedPacket, vpc: Int, sender: Int) -> Verdict? {
        let model = tables.vpcs[vpc]
        guard let resolver = model.resolver, let port = model.resolverPort,
              packet.key.destination == FlowAddress(resolver), packet.key.destinationPort == 53 else { return nil }
        return packet.key.ipProtocol == .udp ? .toResolver(port) : .dropped(.resolverNotUDP, at: sender)
    }

    /// A session for a flow forwarded as it is: to a host of the VPC, out of the internet
    /// gateway, to an AWS service's network through a gateway endpoint.
    private func plainFlow(_ c: inout PacketContext, egress: Int) -> Verdict {
        let timeout: Int64
        switch c.packet.key.ipProtocol {
        case .tcp: timeout = configuration.trackedTCPTimeout
        case .udp: timeout = configuration.trackedUDPTimeout
        default: timeout = configuration.trackedOtherTimeout
        }
        guard let session = startSession(&c, reverse: c.packet.key.reversed, kind: .plain, forwardPort: egress, timeout: timeout)
        else { return .dropped(.flowTableFull) }
        track(session, packet: c.packet, direction: .forward, bytes: batch.lengths[c.index], now: c.now)
        return .forwarded(egress)
    }

    // MARK: The skeleton every kind shares

    /// Why traffic through `endpoint` is refused at its ENI `interface`, if it is not available.
    @inline(__always)
    func unavailable(_ endpoint: Int, at interface: Int?) -> Verdict? {
        endpointAvailable[endpoint] ? nil : .dropped(Dataplane.dropReason(for: endpointStates[endpoint]), at: interface)
    }

    /// The node of `balancer` in the zone of ENI `interface` (zones match by AZ ID across
    /// accounts).
    @inline(__always)
    func node(of balancer: Int, inZoneOf interface: Int) -> Int? {
        let zone = tables.cores[interface].zone
        for node in 0..<tables.loadBalancers[balancer].nodes.count where tables.loadBalancers[balancer].nodes[node].zone == zone {
            return node
        }
        return nil
    }

    /// A new session for the packet's flow, `reverse` the key its replies will have; nil when
    /// the table has no room, even after a closed or half-open session gave way.
    func startSession(_ c: inout PacketContext, reverse: FlowKey, kind: SessionKind, forwardPort: Int, timeout: Int64)
        -> UnsafeMutablePointer<Session>? {
        guard let index = insertSession(forward: c.packet.key, reverse: reverse, now: c.now) else { return nil }
        let record = flows.sessions + index
        record.pointee.kind = kind
        record.pointee.forwardPort = UInt16(forwardPort)
        record.pointee.reversePort = UInt16(c.ingress)
        record.pointee.idleTimeout = timeout
        record.pointee.lastSeen = c.now
        record.pointee.intervalStart = c.now
        record.pointee.flowStart = c.now
        record.pointee.packets = (0, 0)
        record.pointee.bytes = (0, 0)
        record.pointee.tcpFlagsSeen = 0
        record.pointee.target = .none
        record.pointee.portPool = .none
        record.pointee.endpoint = .none
        record.pointee.endpointInterface = .none
        record.pointee.node = .none
        record.pointee.kindState = 0
        // A TCP session starts from the initiator's SYN, half-open; one picked up mid-stream
        // (allowed for tracked, untranslated flows) starts established.
        let packet = c.packet
        record.pointee.tcpState = packet.isTCP ? (packet.isSYN && !packet.isACK ? .synSent : .established) : .none
        if record.pointee.tcpState == .synSent { queueHalfOpen(index) }
        counters.sessionsCreated &+= 1
        return record
    }
}
