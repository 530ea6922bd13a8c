import PacketWire

// The tunnels of Gateway Load Balancer endpoints (docs/aws-behaviour.md §6). A route whose target
// is a GWLB endpoint hands the packet to the GWLB node in the endpoint's zone, which picks an
// appliance by a symmetric hash (so both directions of a flow reach the same one: the new flow
// is Stages/GatewayLoadBalancerFlow.swift) and sends the packet to it GENEVE-encapsulated, from
// the node's address to the appliance's on UDP 6081, with AWS's three options. What the
// appliance sends back is matched by the inner flow, the endpoint's options and the flow's
// cookie, decapsulated, and sent on by the route of the endpoint's subnet.
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
    func appliance(_ target: Int) -> (interface: Int, port: Int, address: UInt32)? {
        let eni = tables.targets[target].interface
        guard case .host(let port) = tables.cores[eni].owner, let address = tables.cores[eni].ipv4 else { return nil }
        return (eni, port, address.value)
    }

    // MARK: Into the tunnel

    /// A packet of an established GWLB flow, in either direction: to its appliance.
    @inline(__always)
    func toAppliance(_ c: inout PacketContext, session: UnsafeMutablePointer<Session>) -> Verdict {
        let eni = session.pointee.endpointInterface.value
        if batch.wireLength(c.index, ipLength: c.packet.length) > configuration.gatewayMTU { return .dropped(.gatewayOversize, at: eni) }
        let endpoint = session.pointee.endpoint.value
        if let refusal = unavailable(endpoint, at: eni) { return refusal }
        // An unhealthy appliance keeps its flows (no_rebalance: they are lost while it is down)
        // or hands them to a healthy one (rebalance), §6. A deregistered one has none.
        if let target = session.pointee.target.index, unhealthyPolicy[target] == .rebalance {
            rebalance(session)
        }
        let bytes = batch.lengths[c.index]
        if let target = session.pointee.target.index {
            count.balanced(endpoint: endpoint, node: session.pointee.node.value, target: target, bytes: bytes, newFlow: false)
        }
        track(session, packet: c.packet, direction: c.direction, bytes: bytes, now: c.now)
        return tunnel(session, index: c.index)
    }

    /// Encapsulates packet `index` for the session's appliance, in place.
    @inline(__always)
    func tunnel(_ session: UnsafeMutablePointer<Session>, index: Int) -> Verdict {
        let innerLength = batch.lengths[index]
        let innerIsIPv6 = batch.packets[index].load(as: UInt8.self) >> 4 == 6
        guard batch.prepend(index, bytes: GWLBTunnel.overhead) else { return .dropped(.noRoomToEncapsulate) }
        let ids = tables.tunnelOptions[session.pointee.endpoint.value]
        let tunnel = GatewayTunnel(word: session.pointee.kindState)
        GWLBTunnel.writeOuter(at: batch.packets[index], source: IPv4Address(tunnel.node),
                              destination: IPv4Address(tunnel.appliance), sourcePort: session.pointee.tunnelSourcePort,
                              innerLength: innerLength, innerIsIPv6: innerIsIPv6,
                              options: GWLBOptions(endpointID: ids.endpointID, attachmentID: ids.attachmentID,
                                                   cookie: session.pointee.cookie))
        return .encapsulated(Int(session.pointee.appliancePort))
    }

    /// Moves a flow to the appliance its hash picks now (the unhealthy one no longer counts).
    private func rebalance(_ session: UnsafeMutablePointer<Session>) {
        guard let (balancerIndex, node) = tables.nodes.location(session.pointee.node.value) else { return }
        let group = tables.loadBalancers[balancerIndex].listeners[0].targetGroup
        let hash = Dataplane.applianceHash(session.pointee.forward, stickiness: tables.targetGroups[group].stickiness,
                                           seed: configuration.seed)
        guard let (target, _) = balancer.choose(balancer: balancerIndex, listener: 0, node: node, hash: hash),
              target != session.pointee.target.index, let appliance = appliance(target) else { return }
        session.pointee.target = TargetIndex(target)
        session.pointee.appliancePort = UInt16(appliance.port)
        session.pointee.kindState = GatewayTunnel(node: GatewayTunnel(word: session.pointee.kindState).node, appliance: appliance.address).word
        counters.flowsRebalanced &+= 1
    }

    // MARK: Out of the tunnel

    /// The flow-table hash of the packet inside an appliance's GENEVE; nil when it reads as no
    /// flow's packet (`fromAppliance` then says why).
    func innerFlowHash(_ packet: ParsedPacket) -> UInt64? {
        guard let udp = try? UDPDatagram(packet.transport), let geneve = try? GENEVEHeader(udp.payload),
              let inner = try? ParsedPacket(geneve.payload), !inner.isICMPError else { return nil }
        return inner.key.hash(seed: configuration.seed)
    }

    /// GENEVE to a GWLB node's address: an appliance returning a packet. It must carry a packet
    /// of a flow the GWLB sent that appliance, with the options it was sent with; it goes on
    /// decapsulated (§6).
    func fromAppliance(_ c: inout PacketContext) -> Verdict {
        let packet = c.packet, now = c.now
        guard let udp = try? UDPDatagram(packet.transport), let geneve = try? GENEVEHeader(udp.payload), geneve.version == 0,
              let options = geneve.gwlbOptions else { return .dropped(.gatewayBadTunnel) }
        let innerIsIPv6: Bool
        switch geneve.protocolType {
        case .ipv4: innerIsIPv6 = false
        case .ipv6: innerIsIPv6 = true
        default: return .dropped(.gatewayBadTunnel)
        }
        let innerBytes = geneve.payload
        let inner: ParsedPacket
        do { inner = try ParsedPacket(innerBytes) } catch { return .dropped(error == .malformed ? .gatewayBadTunnel : error) }
        guard (inner.ipv6 != nil) == innerIsIPv6 else { return .dropped(.gatewayBadTunnel) }
        let found: (session: Int, direction: FlowDirection)?
        if inner.isICMPError {
            do {
                let flow = try flowOfError(inner)
                found = (flow.session, flow.direction)
            } catch {
                return .dropped(error)
            }
        } else {
            found = c.hash != 0 ? flows.lookup(inner.key, hash: c.hash) : flows.lookup(inner.key)
        }
        guard let (sessionIndex, direction) = found else { return .dropped(.applianceInitiated, at: tables.interface(owning: packet.key.destination)) }
        let session = flows.sessions + sessionIndex
        guard session.pointee.kind == .gatewayLoadBalancer else { return .dropped(.applianceInitiated, at: tables.interface(owning: packet.key.destination)) }
        if isExpired(session, now: now) {
            endSession(sessionIndex, now: now, reason: .expired)
            return .dropped(.applianceInitiated, at: tables.interface(owning: packet.key.destination))
        }
        let sent = tables.tunnelOptions[session.pointee.endpoint.value]
        guard options.endpointID == sent.endpointID, options.attachmentID == sent.attachmentID,
              options.cookie == session.pointee.cookie else { return .dropped(.gatewayOptionsAltered) }
        // From the flow's appliance, to the flow's node: outer addresses swapped (§6).
        let tunnel = GatewayTunnel(word: session.pointee.kindState)
        guard c.ingress == Int(session.pointee.appliancePort), packet.key.sourceIPv4.value == tunnel.appliance,
              packet.key.destinationIPv4.value == tunnel.node else { return .dropped(.gatewayWrongAppliance) }
        let outer = geneve.base + geneve.headerLength - batch.packets[c.index]
        batch.strip(c.index, bytes: outer, keeping: inner.length)
        return .decapsulated(Int(direction == .forward ? session.pointee.forwardPort : session.pointee.reversePort))
    }
}
