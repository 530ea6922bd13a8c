import PacketWire

// The VPC fabric, one batch at a time (docs/ARCHITECTURE.md, "The model" and "The hot path").
//
// A batch goes through stages, each over every packet of it, each writing the next step of
// every packet into its context (Stages/):
//   1. classify: parse the headers once, drop what a router would not forward, hash the flow;
//   2. look up: find each packet's session, asking for the buckets of the packets a few places
//      ahead and for the sessions found, so that memory is fetched while packets are worked on;
//   3. decide, in arrival order: the fast path for a packet of a session (translate or tunnel,
//      track, count), the new-flow judgement for the others (NewFlow.swift), ICMP errors by
//      the flow they quote, GENEVE from appliances by the flow inside;
//   4. after the batch, expiry (Expiry.swift).

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
    /// The counts, for reports. The packet path bumps them through `count`.
    public private(set) var counters: Counters {
        didSet { count = counters.blocks }
    }
    /// Where the counts are (`CountBlocks`).
    var count: CountBlocks
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
    /// One context per slot of a batch (Stages/PacketContext.swift).
    let contexts: UnsafeMutablePointer<PacketContext>
    /// The batch being processed; `idle` between batches. Unowned: the caller owns it, and holds
    /// it for the whole of `process`.
    unowned(unsafe) var batch: PacketBatch
    private let idle = PacketBatch()

    public init(tables: ForwardingTables, configuration: DataplaneConfiguration = DataplaneConfiguration()) {
        self.tables = tables
        self.configuration = configuration
        flows = FlowTable(capacity: configuration.flowCapacity, seed: configuration.seed)
        if configuration.prefaultFlowTable { flows.prefault() }
        balancer = Balancer(tables: tables, healthy: [Bool](repeating: true, count: tables.targets.count))
        ports = PortAllocators(poolCount: balancer.poolCount, portsPerPool: configuration.portsPerPool, shard: configuration.shard,
                               targetPorts: balancer.poolTargetPorts)
        let counters = Counters(ports: tables.ports.count, endpoints: tables.endpoints.count, nodes: tables.nodes.count,
                                targets: tables.targets.count)
        self.counters = counters
        count = counters.blocks
        endpointStates = tables.endpoints.map(\.state)
        endpointAvailable = .allocate(capacity: max(1, tables.endpoints.count))
        unhealthyPolicy = .allocate(capacity: max(1, tables.targets.count))
        portCount = tables.ports.count
        // Up to 8 records a session (4 ENIs, 2 directions); per batch, at most one interval
        // roll-over, one end and one session given way per packet, and what expiry ends.
        flowRecords = FlowRecordBuffer(capacity: 8 * (3 * PacketBatch.capacity + configuration.expiryBudget))
        halfOpen = SessionQueue(capacity: configuration.flowCapacity)
        closing = SessionQueue(capacity: configuration.flowCapacity)
        contexts = .allocate(capacity: PacketBatch.capacity)
        contexts.initialize(repeating: PacketContext(), count: PacketBatch.capacity)
        batch = idle
        refreshFlags()
    }

    deinit {
        endpointAvailable.deallocate()
        unhealthyPolicy.deallocate()
        halfOpen.deallocate()
        closing.deallocate()
        contexts.deallocate()
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

    public func isHealthy(target: Int) -> Bool { balancer.healthy[target] }

    /// NAT source ports in use from load balancer node `node` (its global number) to `target`, a
    /// target of that node's load balancer.
    public func natPortsInUse(node: Int, target: Int) -> Int { ports.used(pool: balancer.pool(node: node, target: target)) }

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
    /// rewriting packets in place, then ends the sessions whose time is up.
    public func process(_ batch: PacketBatch, now: Int64) {
        for index in 0..<batch.count { batch.times[index] = now }
        process(batch)
    }

    /// Decides every packet of `batch` at its own time (`batch.times`, as a replay knows them).
    public func process(_ batch: PacketBatch) {
        guard batch.count > 0 else { return }
        self.batch = batch
        defer { self.batch = idle }
        classify()
        lookUp()
        decide()
        expire(now: batch.times[batch.count - 1])
    }

    /// Whether `port` is one a packet may enter by.
    @inline(__always)
    func isPort(_ port: Int) -> Bool { port >= 0 && port < portCount }

    // MARK: Replies

    /// Answers the packet with a RST from where it was sent to, back out of its ingress port.
    func reset(_ c: inout PacketContext, cause: ResetCause) -> Verdict {
        let buffer = UnsafeMutableRawBufferPointer(start: batch.packets[c.index], count: batch.capacities[c.index])
        guard let length = c.packet.writeReset(into: buffer) else { return .dropped(.malformed) }
        batch.lengths[c.index] = length
        count.reset(cause)
        return .replied(c.ingress, cause)
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

    // MARK: Ending sessions

    enum EndReason {
        case expired, closed, terminated
        /// Closed or half-open, ended early to make room for a new flow.
        case evicted
    }

    /// Ends a session: its source port back to the pool, its last flow-log interval recorded.
    func endSession(_ index: Int, now: Int64, reason: EndReason) {
        let session = flows.sessions + index
        guard session.pointee.inUse else { return }
        if let pool = session.pointee.portPool.index {
            ports.release(pool: pool, port: session.pointee.natPort)
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
    /// are handed to `drain` as the buffer fills, so none is lost. A connection that had closed
    /// (and lingered for its last packets) counts as closed, any other as expired.
    public func endAllSessions(now: Int64, drain: (FlowRecord) -> Void) {
        for index in 0..<flows.capacity where flows.sessions[index].inUse {
            endSession(index, now: now, reason: flows.sessions[index].tcpState == .closed ? .closed : .expired)
            if flowRecords.count + 8 > flowRecords.capacity { flowRecords.drain(drain) }
        }
        flowRecords.drain(drain)
    }
}
