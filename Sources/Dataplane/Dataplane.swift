import PacketWire

// The VPC fabric, one batch at a time (docs/ARCHITECTURE.md, "The model" and "The hot path").
//
// A packet that matches a session takes the fast path: translate if the session does, track TCP,
// count, out of the session's port. A packet that matches none is a new flow: source/destination
// check, route lookup in its subnet's table, security groups, and for an interface endpoint the
// NLB's choice of target and its source NAT; then a session, so that the next packets and the
// replies take the fast path.

/// What the flows of an unhealthy target get (docs/aws-behaviour.md §2, §6).
enum UnhealthyTargetPolicy: UInt8 {
    /// They go on (healthy; failing open; an NLB without connection termination; a GWLB with
    /// `no_rebalance`).
    case keep
    /// The NLB resets them.
    case reset
    /// The GWLB moves them to a healthy appliance (`rebalance`).
    case rebalance
}

public final class Dataplane {
    public private(set) var tables: ForwardingTables
    public let configuration: DataplaneConfiguration
    public let flows: FlowTable
    public private(set) var counters: Counters
    private(set) var ports: PortAllocators
    private(set) var balancer: Balancer
    /// Endpoint states, changed by events without a new set of tables.
    public private(set) var endpointStates: [ForwardingTables.EndpointState]
    /// Per endpoint: whether it is available (the fast path reads this, not the array above).
    var endpointAvailable: UnsafeMutablePointer<Bool>
    /// Per target: what becomes of its flows' packets, read by the fast path.
    var unhealthyPolicy: UnsafeMutablePointer<UnhealthyTargetPolicy>
    private var portCount: Int
    /// Finished flow-log intervals, drained by the caller.
    public let flowRecords: FlowRecordBuffer
    /// Half-open and closed sessions, oldest first (Expiry.swift).
    var halfOpen: SessionQueue
    var closing: SessionQueue
    /// The clock at the last sweep, which sets how far the next one goes.
    var lastSweep: Int64?

    public init(tables: ForwardingTables, configuration: DataplaneConfiguration = DataplaneConfiguration()) {
        self.tables = tables
        self.configuration = configuration
        flows = FlowTable(capacity: configuration.flowCapacity, seed: configuration.seed)
        if configuration.prefaultFlowTable { flows.prefault() }
        balancer = Balancer(tables: tables, healthy: [Bool](repeating: true, count: tables.targets.count))
        ports = PortAllocators(poolCount: balancer.poolCount, portsPerPool: configuration.portsPerPool)
        counters = Counters(ports: tables.ports.count, endpoints: tables.endpoints.count, nodes: balancer.nodeCount,
                            targets: tables.targets.count)
        endpointStates = tables.endpoints.map(\.state)
        endpointAvailable = .allocate(capacity: max(1, tables.endpoints.count))
        unhealthyPolicy = .allocate(capacity: max(1, tables.targets.count))
        portCount = tables.ports.count
        // Up to 8 records a session (4 ENIs, 2 directions); per batch, at most one interval
        // roll-over, one end and one session given way per packet, and what expiry ends.
        flowRecords = FlowRecordBuffer(capacity: 8 * (3 * PacketBatch.capacity + configuration.expiryBudget))
        halfOpen = SessionQueue(capacity: configuration.flowCapacity)
        closing = SessionQueue(capacity: configuration.flowCapacity)
        refreshFlags()
    }

    deinit {
        endpointAvailable.deallocate()
        unhealthyPolicy.deallocate()
        halfOpen.deallocate()
        closing.deallocate()
    }

    /// Refreshes the flags the fast path reads from the endpoint states and target health.
    private func refreshFlags() {
        for index in 0..<endpointStates.count { endpointAvailable[index] = endpointStates[index] == .available }
        for target in 0..<tables.targets.count {
            let group = tables.targetGroups[tables.targets[target].targetGroup]
            var policy = UnhealthyTargetPolicy.keep
            if !balancer.healthy[target] && !balancer.isFailingOpen(target: target) {
                if balancer.isGateway(target: target) {
                    if group.rebalance { policy = .rebalance }
                } else if group.connectionTermination {
                    policy = .reset
                }
            }
            unhealthyPolicy[target] = policy
        }
    }

    /// The global number of a load balancer node, as counters index nodes.
    public func nodeIndex(balancer: Int, node: Int) -> Int { self.balancer.nodeBase[balancer] + node }

    public func isHealthy(target: Int) -> Bool { balancer.healthy[target] }

    // MARK: Control (between batches)

    public func setTargetHealth(_ target: Int, healthy: Bool) {
        balancer.setHealthy(target, healthy, tables: tables)
        refreshFlags()
    }

    public func setEndpointState(_ endpoint: Int, _ state: ForwardingTables.EndpointState) {
        endpointStates[endpoint] = state
        refreshFlags()
    }

    /// Takes the state a reload built (see `replaceTables`).
    func install(tables: ForwardingTables, balancer: Balancer, ports: PortAllocators, counters: Counters) {
        self.tables = tables
        self.balancer = balancer
        self.ports = ports
        self.counters = counters
        endpointStates = tables.endpoints.map(\.state)
        endpointAvailable.deallocate()
        unhealthyPolicy.deallocate()
        endpointAvailable = .allocate(capacity: max(1, tables.endpoints.count))
        unhealthyPolicy = .allocate(capacity: max(1, tables.targets.count))
        portCount = tables.ports.count
        refreshFlags()
    }

    // MARK: The batch

    /// Decides every packet of `batch` as of time `now` (nanoseconds, the caller's clock),
    /// rewriting packets in place, then lets the expiry sweep visit a few sessions.
    public func process(_ batch: PacketBatch, now: Int64) {
        for index in 0..<batch.count { batch.times[index] = now }
        process(batch)
    }

    /// Decides every packet of `batch` at its own time (`batch.times`, as a replay knows them).
    public func process(_ batch: PacketBatch) {
        guard batch.count > 0 else { return }
        for index in 0..<batch.count {
            let verdict = decide(batch, index, now: batch.times[index])
            batch.verdicts[index] = verdict
            if let port = verdict.port {
                counters.sent(port: port, bytes: batch.lengths[index])
            } else if let reason = verdict.dropReason {
                counters.dropped(reason)
            }
        }
        expire(now: batch.times[batch.count - 1])
    }

    @inline(__always)
    private func decide(_ batch: PacketBatch, _ index: Int, now: Int64) -> Verdict {
        let ingress = batch.ingressPorts[index]
        guard ingress >= 0 && ingress < portCount else { return .drop(.unknownPort) }
        counters.received(port: ingress, bytes: batch.lengths[index])
        let packet: ParsedPacket
        do { packet = try ParsedPacket(batch.bytes(index)) } catch { return .drop(error) }
        if packet.isICMPError { return icmpError(packet, ingress: ingress, batch: batch, index: index, now: now) }
        // GENEVE to a GWLB node comes back from an appliance: its inner packet names the flow.
        if packet.key.proto == IPProtocol.udp.rawValue && packet.key.destinationPort == GENEVEHeader.udpPort && packet.key.isIPv4,
           tables.isGatewayNode(packet.key.destinationIPv4.value) {
            return fromAppliance(packet, ingress: ingress, batch: batch, index: index, now: now)
        }
        let hash = packet.key.hash(seed: configuration.seed)
        if let (session, direction) = flows.lookup(packet.key, hash: hash) {
            if !isExpired(flows.sessions + session, now: now) {
                return established(packet, session: session, direction: direction, batch: batch, index: index, now: now)
            }
            // Idle past its timeout (or half-open past the handshake window): the flow is
            // gone, and this packet is judged as a new one
            // (a non-SYN segment to an endpoint or NLB gets a RST, docs/aws-behaviour.md §1; to a
            // GWLB it is dropped, §6).
            endSession(session, now: now, reason: .expired)
        }
        return newFlow(packet, ingress: ingress, batch: batch, index: index, now: now)
    }

    // MARK: Fast path

    @inline(__always)
    private func established(_ packet: ParsedPacket, session index: Int, direction: FlowDirection, batch: PacketBatch,
                             index packetIndex: Int, now: Int64) -> Verdict {
        let session = flows.sessions + index
        let bytes = batch.lengths[packetIndex]
        if session.pointee.kind == .gatewayLoadBalancer {
            return toAppliance(packet, session: index, direction: direction, batch: batch, index: packetIndex, now: now)
        }
        if session.pointee.kind == .endpoint || session.pointee.kind == .loadBalancer {
            let endpoint = Int(session.pointee.endpoint)
            if session.pointee.kind == .endpoint {
                if direction == .forward && batch.wireLength(packetIndex, ipLength: packet.length) > configuration.endpointMTU {
                    return .drop(.endpointOversize)
                }
                // A provider may reject an endpoint that is already available: its flows stop.
                if endpoint != Int(UInt16.max), !endpointAvailable[endpoint] {
                    return .drop(Dataplane.dropReason(for: endpointStates[endpoint]))
                }
            }
            let target = Int(session.pointee.target)
            // A session whose target was deregistered by a reload has none and keeps going.
            if session.pointee.target != Session.none && unhealthyPolicy[target] == .reset {
                // The NLB resets connections tied to an unhealthy target (docs/aws-behaviour.md
                // §2).
                endSession(index, now: now, reason: .terminated)
                return reset(packet, batch: batch, index: packetIndex, cause: .unhealthyTarget)
            }
            if let refusal = translate(packet, session: session, direction: direction, batch: batch, index: packetIndex) {
                return .drop(refusal)
            }
            if session.pointee.target != Session.none && session.pointee.node != UInt16.max {
                counters.balanced(endpoint: endpoint == Int(UInt16.max) ? nil : endpoint, node: Int(session.pointee.node), target: target,
                                  bytes: bytes, newFlow: false)
            }
        }
        track(session, packet: packet, direction: direction, bytes: bytes, now: now)
        return .forward(Int(direction == .forward ? session.pointee.forwardPort : session.pointee.reversePort))
    }

    /// TCP state, idle time and the flow's counts; a closed TCP flow lingers only a little.
    @inline(__always)
    func track(_ session: UnsafeMutablePointer<Session>, packet: ParsedPacket, direction: FlowDirection, bytes: Int,
               now: Int64) {
        if packet.isTCP {
            let state = session.pointee.tcpState.after(packet.tcpFlags, direction: direction)
            if state == .closed && session.pointee.tcpState != .closed { queueClosing(session - flows.sessions, now: now) }
            session.pointee.tcpState = state
        } else if direction == .reverse && packet.key.proto == IPProtocol.udp.rawValue && session.pointee.kind == .plain {
            // A reply makes a UDP flow a stream, tracked longer (EC2 connection tracking).
            session.pointee.idleTimeout = configuration.trackedUDPStreamTimeout
        }
        if now &- session.pointee.intervalStart >= configuration.flowLogInterval {
            flowRecords.record(session.pointee, tables: tables, end: now)
            session.pointee.packets = (0, 0)
            session.pointee.bytes = (0, 0)
            session.pointee.intervalStart = now
        }
        session.pointee.lastSeen = now
        if direction == .forward {
            session.pointee.packets.forward &+= 1
            session.pointee.bytes.forward &+= UInt64(bytes)
        } else {
            session.pointee.packets.reverse &+= 1
            session.pointee.bytes.reverse &+= UInt64(bytes)
        }
        if session.pointee.tcpState == .closed && session.pointee.idleTimeout > configuration.closedLinger {
            session.pointee.idleTimeout = configuration.closedLinger
        }
    }

    // MARK: New flows

    private func newFlow(_ packet: ParsedPacket, ingress: Int, batch: PacketBatch, index: Int, now: Int64) -> Verdict {
        switch tables.ports[ingress].kind {
        case .interface(let interface):
            let eni = tables.cores[interface]
            if eni.sourceDestCheck && !owns(eni, packet.key.source) { return .drop(.sourceDestinationCheck) }
            if let resolver = toResolver(packet, vpc: eni.vpc) { return resolver }
            return route(packet, vpc: eni.vpc, table: tables.subnetRouteTables[eni.subnet], from: interface,
                         ingress: ingress, batch: batch, index: index, now: now)
        case .internetGateway(let vpc):
            return route(packet, vpc: vpc, table: tables.vpcs[vpc].edgeRouteTable, from: nil, ingress: ingress,
                         batch: batch, index: index, now: now)
        case .serviceNetwork:
            return .drop(.serviceCannotInitiate)
        case .resolver:
            return .drop(.unknownPort)
        case .healthChecks:
            // A probe from a load balancer node's own address to a target, routed in the node's
            // subnet so that the target sees the NLB's address and its security groups apply
            // (docs/aws-behaviour.md §2); the reply comes back to this port through the session.
            guard let node = tables.interface(owning: packet.key.source),
                  case .loadBalancerNode = tables.cores[node].owner else { return .drop(.sourceDestinationCheck) }
            let eni = tables.cores[node]
            return route(packet, vpc: eni.vpc, table: tables.subnetRouteTables[eni.subnet], from: nil, ingress: ingress,
                         batch: batch, index: index, now: now)
        }
    }

    /// A query to the VPC's resolver goes to its port, with no session (DNS over UDP keeps no
    /// state) and past the security groups, which do not filter traffic to or from Amazon DNS
    /// (Amazon VPC User Guide, "Security group rules"). Privet's resolver answers UDP only.
    @inline(__always)
    private func toResolver(_ packet: ParsedPacket, vpc: Int) -> Verdict? {
        let model = tables.vpcs[vpc]
        guard let resolver = model.resolver, let port = model.resolverPort,
              packet.key.destination == FlowAddress(resolver), packet.key.destinationPort == 53 else { return nil }
        return packet.key.ipProtocol == .udp ? .forward(port) : .drop(.resolverNotUDP)
    }

    private func owns(_ eni: InterfaceCore, _ address: FlowAddress) -> Bool {
        if address.isIPv4 {
            guard let own = eni.ipv4 else { return false }
            return FlowAddress(own) == address
        }
        guard let own = eni.ipv6 else { return false }
        return FlowAddress(own) == address
    }

    /// Where a route table sends a new flow, with the checks of the way there done.
    enum Hop {
        /// Out of a port as it is (a host, the internet gateway, a gateway endpoint's service).
        case plain(egress: Int)
        /// To an interface endpoint's ENI: the NLB behind it takes over.
        case interfaceEndpoint(endpoint: Int, interface: Int)
        /// To a GWLB endpoint: the GWLB tunnels it to an appliance.
        case gatewayLoadBalancer(endpoint: Int)
        /// To a listener of an NLB, at one of its nodes' addresses, from the NLB's own VPC.
        case loadBalancer(balancer: Int, node: Int, listener: Int)
        case refuse(DropReason)
        /// A segment to an NLB node address for no flow: it gets a RST (docs/aws-behaviour.md §1).
        case resetNoFlow
    }

    /// The hop a new flow takes from a route table (nil: the internet gateway's own delivery,
    /// without an edge route table). `from` is the sending ENI (nil from the internet).
    func nextHop(_ packet: ParsedPacket, vpc: Int, table: Int?, from: Int?) -> Hop {
        let destination = packet.key.destination
        var target: ForwardingTables.RouteTarget?
        if let table {
            let routes = tables.routeTables[table]
            let found = destination.isIPv4 ? routes.ipv4.lookup(destination.ipv4) : routes.ipv6.lookup(destination.ipv6)
            if let found { target = routes.targets[Int(found)] }
        } else {
            // The internet gateway without an edge route table delivers to the VPC's addresses.
            let vpcModel = tables.vpcs[vpc]
            var local = false
            if destination.isIPv4 {
                local = vpcModel.cidr.contains(destination.ipv4)
            } else if let block = vpcModel.ipv6Cidr {
                local = block.contains(destination.ipv6)
            }
            target = local ? .local : nil
        }
        guard let target else { return .refuse(.noRoute) }
        if let from, target != .local, !egressAllowed(from, packet) { return .refuse(.securityGroupEgress) }
        switch target {
        case .local:
            guard let owner = tables.interface(vpc: vpc, address: destination) else { return .refuse(.noSuchAddress) }
            switch tables.cores[owner].owner {
            case .host(let port):
                if let from, !egressAllowed(from, packet) { return .refuse(.securityGroupEgress) }
                if !tables.allows(owner, ingress: true, proto: packet.key.ipProtocol, port: packet.key.destinationPort,
                                  peer: packet.key.source, peerInterface: from) {
                    return .refuse(.securityGroupIngress)
                }
                return .plain(egress: port)
            case .endpoint(let endpoint):
                if from == nil {
                    // Endpoint ENIs have no public address; their IPv6 address is closed to the
                    // internet gateway by denyAllIgwTraffic (docs/aws-behaviour.md §5).
                    return .refuse(destination.isIPv4 ? .noSuchAddress : .denyAllIgwTraffic)
                }
                return .interfaceEndpoint(endpoint: endpoint, interface: owner)
            case .loadBalancerNode(let balancer, let node):
                // A flow's first packet to a listener's port: a client of the NLB in its own VPC.
                let first = packet.isTCP ? packet.isSYN && !packet.isACK : packet.key.proto == IPProtocol.udp.rawValue
                if first, !tables.loadBalancers[balancer].isGateway, let listener = listener(balancer, taking: packet) {
                    return .loadBalancer(balancer: balancer, node: node, listener: listener)
                }
                // No session matched: the provider side cannot start a connection back through
                // the NLB (docs/aws-behaviour.md §4); a later segment of a forgotten flow gets a
                // RST (§1).
                if packet.isTCP && packet.isSYN && !packet.isACK { return .refuse(.providerInitiated) }
                if packet.isTCP && !packet.isRST { return .resetNoFlow }
                return .refuse(.noSession)
            }
        case .internetGateway:
            guard let port = tables.vpcs[vpc].internetGatewayPort else { return .refuse(.noRoute) }
            return .plain(egress: port)
        case .gatewayEndpoint(let port):
            return .plain(egress: port)
        case .gatewayLoadBalancerEndpoint(let endpoint):
            return .gatewayLoadBalancer(endpoint: endpoint)
        }
    }

    /// A new flow, by its route.
    private func route(_ packet: ParsedPacket, vpc: Int, table: Int?, from: Int?, ingress: Int, batch: PacketBatch,
                       index: Int, now: Int64) -> Verdict {
        switch nextHop(packet, vpc: vpc, table: table, from: from) {
        case .plain(let egress):
            return plainSession(packet, egress: egress, ingress: ingress, now: now, batch: batch, index: index)
        case .interfaceEndpoint(let endpoint, let interface):
            return endpointFlow(packet, endpoint: endpoint, interface: interface, from: from, ingress: ingress,
                                batch: batch, index: index, now: now)
        case .gatewayLoadBalancer(let endpoint):
            return gatewayFlow(packet, endpoint: endpoint, from: from, ingress: ingress, batch: batch, index: index, now: now)
        case .loadBalancer(let balancer, let node, let listener):
            return loadBalancerFlow(packet, balancer: balancer, node: node, listener: listener, from: from, ingress: ingress,
                                    batch: batch, index: index, now: now)
        case .refuse(let reason):
            return .drop(reason)
        case .resetNoFlow:
            return reset(packet, batch: batch, index: index, cause: .noFlow)
        }
    }

    func egressAllowed(_ interface: Int, _ packet: ParsedPacket) -> Bool {
        let destination = packet.key.destination
        let peer = tables.interface(vpc: tables.cores[interface].vpc, address: destination)
        return tables.allows(interface, ingress: false, proto: packet.key.ipProtocol, port: packet.key.destinationPort,
                             peer: destination, peerInterface: peer)
    }

    /// A session for a flow forwarded as it is.
    private func plainSession(_ packet: ParsedPacket, egress: Int, ingress: Int, now: Int64, batch: PacketBatch,
                              index: Int) -> Verdict {
        guard let session = insertSession(forward: packet.key, reverse: packet.key.reversed, now: now) else {
            return .drop(.flowTableFull)
        }
        let record = flows.sessions + session
        let timeout: Int64
        switch packet.key.ipProtocol {
        case .tcp: timeout = configuration.trackedTCPTimeout
        case .udp: timeout = configuration.trackedUDPTimeout
        default: timeout = configuration.trackedOtherTimeout
        }
        start(record, kind: .plain, forwardPort: egress, reversePort: ingress, timeout: timeout, tcp: packet, now: now)
        counters.sessionsCreated &+= 1
        track(record, packet: packet, direction: .forward, bytes: batch.lengths[index], now: now)
        return .forward(egress)
    }

    func start(_ record: UnsafeMutablePointer<Session>, kind: SessionKind, forwardPort: Int, reversePort: Int,
               timeout: Int64, tcp packet: ParsedPacket, now: Int64) {
        record.pointee.kind = kind
        record.pointee.forwardPort = UInt16(forwardPort)
        record.pointee.reversePort = UInt16(reversePort)
        record.pointee.idleTimeout = timeout
        record.pointee.lastSeen = now
        record.pointee.intervalStart = now
        record.pointee.flowStart = now
        record.pointee.packets = (0, 0)
        record.pointee.bytes = (0, 0)
        record.pointee.clampMSS = kind == .endpoint
        record.pointee.target = Session.none
        record.pointee.portAllocator = Session.none
        record.pointee.endpoint = UInt16.max
        record.pointee.endpointInterface = Session.none
        record.pointee.node = UInt16.max
        record.pointee.kindState = 0
        // A TCP session starts from the initiator's SYN, half-open; one picked up mid-stream
        // (allowed for tracked, untranslated flows) starts established.
        record.pointee.tcpState = packet.isTCP ? (packet.isSYN && !packet.isACK ? .synSent : .established) : .none
        if record.pointee.tcpState == .synSent { queueHalfOpen(record - flows.sessions) }
    }

    static func dropReason(for state: ForwardingTables.EndpointState) -> DropReason {
        switch state {
        case .available, .pending: return .endpointPending
        case .pendingAcceptance: return .endpointPendingAcceptance
        case .rejected: return .endpointRejected
        case .expired: return .endpointExpired
        case .failed: return .endpointFailed
        case .deleting: return .endpointDeleting
        case .deleted: return .endpointDeleted
        }
    }

    // MARK: Resets and ICMP errors

    /// Answers the packet with a RST from where it was sent to, back out of its ingress port.
    func reset(_ packet: ParsedPacket, batch: PacketBatch, index: Int, cause: ResetCause) -> Verdict {
        let buffer = UnsafeMutableRawBufferPointer(start: batch.packets[index], count: batch.capacities[index])
        guard let length = packet.writeReset(into: buffer) else { return .drop(.malformed) }
        batch.lengths[index] = length
        counters.reset(cause)
        return .forward(batch.ingressPorts[index])
    }

    /// An ICMP error about a tracked flow follows that flow's reply path. For a translated flow
    /// both the outer addresses and the quoted packet inside are translated back, so that the
    /// sender recognises its own packet; for a GWLB flow it goes through the flow's appliance.
    private func icmpError(_ packet: ParsedPacket, ingress: Int, batch: PacketBatch, index packetIndex: Int,
                           now: Int64) -> Verdict {
        let quote: ICMPQuote, index: Int, direction: FlowDirection
        do { (quote, index, direction) = try flowOfError(packet) } catch { return .drop(error) }
        let session = flows.sessions + index
        if session.pointee.kind == .gatewayLoadBalancer {
            session.pointee.lastSeen = now
            return tunnel(session, batch: batch, index: packetIndex)
        }
        let outgoing = direction == .forward ? session.pointee.forwardPort : session.pointee.reversePort
        if session.pointee.kind == .endpoint || session.pointee.kind == .loadBalancer {
            let outer = direction == .forward ? session.pointee.reverse.reversed : session.pointee.forward.reversed
            // The quoted packet becomes the packet as its sender sent it.
            let original = direction == .forward ? session.pointee.reverse : session.pointee.forward
            if outer.family == packet.key.family {
                quote.translate(outer: packet, outerSource: outer.source, outerDestination: outer.destination, quoted: original)
            } else if let refusal = translateError(packet, quote: quote, outer: outer, quoted: original, batch: batch, index: packetIndex) {
                return .drop(refusal)
            }
        }
        session.pointee.lastSeen = now
        return .forward(Int(outgoing))
    }

    /// The session an ICMP error is about, and which of its directions the error travels: the
    /// quoted packet went out in some direction, and its reversed key is what that flow's other
    /// side sends. Throws for a quote that cannot be read, or one of no known flow.
    func flowOfError(_ packet: ParsedPacket) throws(DropReason) -> (quote: ICMPQuote, session: Int, direction: FlowDirection) {
        guard let quote = ICMPQuote(packet) else { throw .malformed }
        guard let (session, direction) = flows.lookup(quote.key.reversed) else { throw .icmpErrorUnknownFlow }
        return (quote, session, direction)
    }

    // MARK: Expiry

    enum EndReason {
        case expired, closed, terminated
        /// Closed or half-open, ended early to make room for a new flow.
        case evicted
    }

    /// Ends a session: its source port back to the pool, its last flow-log interval recorded.
    func endSession(_ index: Int, now: Int64, reason: EndReason) {
        let session = flows.sessions + index
        guard session.pointee.inUse else { return }
        if session.pointee.portAllocator != Session.none {
            ports.release(pool: Int(session.pointee.portAllocator), port: session.pointee.natPort)
        }
        flowRecords.record(session.pointee, tables: tables, end: min(now, session.pointee.lastSeen))
        switch reason {
        case .expired: counters.sessionsExpired &+= 1
        case .closed, .terminated: counters.sessionsClosed &+= 1
        case .evicted: counters.sessionsEvicted &+= 1
        }
        flows.remove(index)
    }

    /// Ends every session (at the end of a replay), recording their last intervals; the records
    /// are handed to `drain` as the buffer fills, so none is lost.
    public func endAllSessions(now: Int64, drain: (FlowRecord) -> Void) {
        for index in 0..<flows.capacity where flows.sessions[index].inUse {
            endSession(index, now: now, reason: .expired)
            if flowRecords.count + 8 > flowRecords.capacity { flowRecords.drain(drain) }
        }
        flowRecords.drain(drain)
    }
}
