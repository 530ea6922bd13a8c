import PacketWire

// Gateway Load Balancer endpoints (docs/aws-behaviour.md §6). A route whose target is a GWLB
// endpoint hands the packet to the GWLB node in the endpoint's zone, which picks an appliance by a
// symmetric hash (so both directions of a flow reach the same one) and sends the packet to it
// GENEVE-encapsulated, from the node's address to the appliance's on UDP 6081, with AWS's three
// options. What the appliance sends back is matched by the inner flow, the endpoint's options and
// the flow's cookie, decapsulated, and sent on by the route of the endpoint's subnet.
//
// One session per inner flow, keyed by its two directions as for any flow: a packet of either
// direction that is not GENEVE from an appliance goes into the tunnel (the fast path below); a
// GENEVE packet to a node's address comes out of it. The session holds the tunnel (node and
// appliance addresses, UDP source port, cookie), the appliance's port, and where each direction
// goes after the appliance: the forward one by the endpoint subnet's route, worked out on the
// first packet; the reverse one back to where the flow came from.

/// A GWLB flow's tunnel, in its session's `kindState`: the outer IPv4 addresses of the GWLB
/// node and of the appliance.
struct GatewayTunnel {
    var node: UInt32
    var appliance: UInt32

    @inline(__always)
    init(node: UInt32, appliance: UInt32) {
        self.node = node
        self.appliance = appliance
    }

    @inline(__always)
    init(word: UInt64) { self.init(node: UInt32(truncatingIfNeeded: word >> 32), appliance: UInt32(truncatingIfNeeded: word)) }

    @inline(__always)
    var word: UInt64 { UInt64(node) << 32 | UInt64(appliance) }
}

extension Dataplane {
    // MARK: New flows

    func gatewayFlow(_ packet: ParsedPacket, endpoint: Int, from: Int?, ingress: Int, batch: PacketBatch, index: Int,
                     now: Int64) -> Verdict {
        guard endpointAvailable[endpoint] else { return .drop(Dataplane.dropReason(for: endpointStates[endpoint])) }
        guard let balancerIndex = tables.endpoints[endpoint].loadBalancer, let eni = tables.endpoints[endpoint].interface,
              tables.loadBalancers[balancerIndex].listeners.count == 1 else { return .drop(.noLoadBalancerNode) }
        guard batch.wireLength(index, ipLength: packet.length) <= configuration.gatewayMTU else { return .drop(.gatewayOversize) }
        // A GWLB starts a flow from its first packet, but a TCP flow only from a SYN: any other
        // segment of a flow it does not know is dropped, or reset when the listener says so.
        if packet.isTCP && (!packet.isSYN || packet.isACK) {
            guard !packet.isRST, tables.loadBalancers[balancerIndex].listeners[0].resetsUnknownFlows else {
                return .drop(.gatewayNoFlow)
            }
            return reset(packet, batch: batch, index: index, cause: .gatewayNoFlow)
        }
        // The node in the endpoint's zone (zones match by AZ ID across accounts).
        let zone = tables.cores[eni].zone
        var node = -1
        for candidate in 0..<tables.loadBalancers[balancerIndex].nodes.count
        where tables.loadBalancers[balancerIndex].nodes[candidate].zone == zone {
            node = candidate
            break
        }
        guard node >= 0 else { return .drop(.noLoadBalancerNode) }
        let nodeENI = tables.loadBalancers[balancerIndex].nodes[node].interface
        guard let nodeAddress = tables.cores[nodeENI].ipv4 else { return .drop(.noLoadBalancerNode) }
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
              let appliance = appliance(target) else { return .drop(.noTarget) }
        // The appliance's security groups see the tunnel: UDP 6081 from the node (AWS's setup
        // asks for that rule).
        if !tables.allows(appliance.interface, ingress: true, proto: .udp, port: GENEVEHeader.udpPort,
                          peer: FlowAddress(nodeAddress), peerInterface: nodeENI) {
            return .drop(.securityGroupIngress)
        }
        // Where the packet goes when the appliance returns it: the endpoint subnet's route.
        let egress: Int
        switch nextHop(packet, vpc: tables.cores[eni].vpc, table: tables.subnetRouteTables[tables.cores[eni].subnet], from: from) {
        case .plain(let port): egress = port
        case .refuse(let reason): return .drop(reason)
        case .resetNoFlow: return reset(packet, batch: batch, index: index, cause: .noFlow)
        case .interfaceEndpoint, .gatewayLoadBalancer, .loadBalancer: return .drop(.gatewayChain)
        }
        guard let session = insertSession(forward: packet.key, reverse: packet.key.reversed, now: now) else {
            return .drop(.flowTableFull)
        }
        let record = flows.sessions + session
        let timeout = packet.isTCP ? tables.loadBalancers[balancerIndex].listeners[0].idleTimeout : configuration.gatewayIdleTimeout
        start(record, kind: .gatewayLoadBalancer, forwardPort: egress, reversePort: ingress, timeout: timeout, tcp: packet, now: now)
        record.pointee.target = UInt32(target)
        record.pointee.node = UInt16(nodeIndex(balancer: balancerIndex, node: node))
        record.pointee.endpoint = UInt16(endpoint)
        record.pointee.endpointInterface = UInt32(eni)
        record.pointee.appliancePort = UInt16(appliance.port)
        record.pointee.kindState = GatewayTunnel(node: nodeAddress.value, appliance: appliance.address).word
        // The tunnel's source port from a hash of the inner flow, in the dynamic range (RFC 8926
        // §3.3, for the entropy of ECMP on the way); the cookie, a number of this flow from its
        // first packet (the same again in a replay of its capture).
        record.pointee.natPort = 49152 | UInt16(truncatingIfNeeded: flowHash >> 50)
        record.pointee.cookie = UInt32(truncatingIfNeeded: incarnation >> 32)
        counters.sessionsCreated &+= 1
        counters.balanced(endpoint: endpoint, node: Int(record.pointee.node), target: target, bytes: batch.lengths[index],
                          newFlow: true)
        track(record, packet: packet, direction: .forward, bytes: batch.lengths[index], now: now)
        return tunnel(record, batch: batch, index: index)
    }

    /// What of a flow picks its appliance (§6): 5-tuple for TCP and UDP and 3-tuple for other
    /// protocols by default; 3-tuple or 2-tuple when the target group's stickiness says so. The
    /// hash is symmetric, so that a reply picks as its flow did.
    @inline(__always)
    static func applianceHash(_ key: FlowKey, stickiness: ForwardingTables.TargetGroup.Stickiness, seed: UInt64) -> UInt64 {
        var key = key
        let hasPorts = key.proto == IPProtocol.tcp.rawValue || key.proto == IPProtocol.udp.rawValue
        if stickiness != .fiveTuple || !hasPorts {
            key.sourcePort = 0
            key.destinationPort = 0
        }
        if stickiness == .twoTuple { key.proto = 0 }
        return FlowHash.symmetric(key, seed: seed)
    }

    /// An appliance's ENI, host port and IPv4 address (the tunnel is IPv4 whatever the inner).
    private func appliance(_ target: Int) -> (interface: Int, port: Int, address: UInt32)? {
        let eni = tables.targets[target].interface
        guard case .host(let port) = tables.cores[eni].owner, let address = tables.cores[eni].ipv4 else { return nil }
        return (eni, port, address.value)
    }

    // MARK: Into the tunnel

    /// A packet of an established GWLB flow, in either direction: to its appliance.
    @inline(__always)
    func toAppliance(_ packet: ParsedPacket, session index: Int, direction: FlowDirection, batch: PacketBatch,
                     index packetIndex: Int, now: Int64) -> Verdict {
        let session = flows.sessions + index
        if batch.wireLength(packetIndex, ipLength: packet.length) > configuration.gatewayMTU { return .drop(.gatewayOversize) }
        let endpoint = Int(session.pointee.endpoint)
        if !endpointAvailable[endpoint] { return .drop(Dataplane.dropReason(for: endpointStates[endpoint])) }
        // An unhealthy appliance keeps its flows (no_rebalance: they are lost while it is down)
        // or hands them to a healthy one (rebalance), §6. A deregistered one has none.
        if session.pointee.target != Session.none && unhealthyPolicy[Int(session.pointee.target)] == .rebalance {
            rebalance(session)
        }
        let bytes = batch.lengths[packetIndex]
        if session.pointee.target != Session.none {
            counters.balanced(endpoint: endpoint, node: Int(session.pointee.node), target: Int(session.pointee.target),
                              bytes: bytes, newFlow: false)
        }
        track(session, packet: packet, direction: direction, bytes: bytes, now: now)
        return tunnel(session, batch: batch, index: packetIndex)
    }

    /// Encapsulates packet `index` for the session's appliance, in place.
    @inline(__always)
    func tunnel(_ session: UnsafeMutablePointer<Session>, batch: PacketBatch, index: Int) -> Verdict {
        let innerLength = batch.lengths[index]
        let innerIsIPv6 = batch.packets[index].load(as: UInt8.self) >> 4 == 6
        guard batch.prepend(index, bytes: GWLBTunnel.overhead) else { return .drop(.noRoomToEncapsulate) }
        batch.tunnelBytes[index] = GWLBTunnel.overhead
        let ids = tables.tunnelOptions[Int(session.pointee.endpoint)]
        let tunnel = GatewayTunnel(word: session.pointee.kindState)
        GWLBTunnel.writeOuter(at: batch.packets[index], source: IPv4Address(tunnel.node),
                              destination: IPv4Address(tunnel.appliance), sourcePort: session.pointee.natPort,
                              innerLength: innerLength, innerIsIPv6: innerIsIPv6,
                              options: GWLBOptions(endpointID: ids.endpointID, attachmentID: ids.attachmentID,
                                                   cookie: session.pointee.cookie))
        return .forward(Int(session.pointee.appliancePort))
    }

    /// Moves a flow to the appliance its hash picks now (the unhealthy one no longer counts).
    private func rebalance(_ session: UnsafeMutablePointer<Session>) {
        let (balancerIndex, node) = balancer.location(globalNode: Int(session.pointee.node))
        let group = tables.loadBalancers[balancerIndex].listeners[0].targetGroup
        let hash = Dataplane.applianceHash(session.pointee.forward, stickiness: tables.targetGroups[group].stickiness,
                                           seed: configuration.seed)
        guard let (target, _) = balancer.choose(balancer: balancerIndex, listener: 0, node: node, hash: hash),
              target != Int(session.pointee.target), let appliance = appliance(target) else { return }
        session.pointee.target = UInt32(target)
        session.pointee.appliancePort = UInt16(appliance.port)
        session.pointee.kindState = GatewayTunnel(node: GatewayTunnel(word: session.pointee.kindState).node, appliance: appliance.address).word
        counters.flowsRebalanced &+= 1
    }

    // MARK: Out of the tunnel

    /// GENEVE to a GWLB node's address: an appliance returning a packet. It must carry a packet
    /// of a flow the GWLB sent that appliance, with the options it was sent with; it goes on
    /// decapsulated (§6).
    func fromAppliance(_ packet: ParsedPacket, ingress: Int, batch: PacketBatch, index: Int,
                       now: Int64) -> Verdict {
        guard let udp = try? UDPDatagram(packet.transport), let geneve = try? GENEVEHeader(udp.payload), geneve.version == 0,
              let options = geneve.gwlbOptions else { return .drop(.gatewayBadTunnel) }
        let innerIsIPv6: Bool
        switch geneve.protocolType {
        case .ipv4: innerIsIPv6 = false
        case .ipv6: innerIsIPv6 = true
        default: return .drop(.gatewayBadTunnel)
        }
        let innerBytes = geneve.payload
        let inner: ParsedPacket
        do { inner = try ParsedPacket(innerBytes) } catch { return .drop(error == .malformed ? .gatewayBadTunnel : error) }
        guard (inner.ipv6 != nil) == innerIsIPv6 else { return .drop(.gatewayBadTunnel) }
        let found: (session: Int, direction: FlowDirection)?
        if inner.isICMPError {
            do {
                let flow = try flowOfError(inner)
                found = (flow.session, flow.direction)
            } catch {
                return .drop(error)
            }
        } else {
            found = flows.lookup(inner.key)
        }
        guard let (sessionIndex, direction) = found else { return .drop(.applianceInitiated) }
        let session = flows.sessions + sessionIndex
        guard session.pointee.kind == .gatewayLoadBalancer else { return .drop(.applianceInitiated) }
        if isExpired(session, now: now) {
            endSession(sessionIndex, now: now, reason: .expired)
            return .drop(.applianceInitiated)
        }
        let sent = tables.tunnelOptions[Int(session.pointee.endpoint)]
        guard options.endpointID == sent.endpointID, options.attachmentID == sent.attachmentID,
              options.cookie == session.pointee.cookie else { return .drop(.gatewayOptionsAltered) }
        // From the flow's appliance, to the flow's node: outer addresses swapped (§6).
        let tunnel = GatewayTunnel(word: session.pointee.kindState)
        guard ingress == Int(session.pointee.appliancePort), packet.key.sourceIPv4.value == tunnel.appliance,
              packet.key.destinationIPv4.value == tunnel.node else { return .drop(.gatewayWrongAppliance) }
        let outer = geneve.base + geneve.headerLength - batch.packets[index]
        batch.strip(index, bytes: outer, keeping: inner.length)
        batch.tunnelBytes[index] = -outer
        return .forward(Int(direction == .forward ? session.pointee.forwardPort : session.pointee.reversePort))
    }
}
