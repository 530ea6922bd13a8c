import Dataplane
import PacketIO
import PacketWire
import ReferenceAppliance
import Topology

// Hosts that behave like hosts, in a closed loop with the dataplane: clients resolve names in
// their VPC's view, open TCP connections (handshake, a request, a response of the size they ask
// for, FIN) or send UDP; servers answer as a small TCP stack does (SYN-ACK, data, FIN; RST to a
// closed port). Every packet a host sends goes through the dataplane, and what comes out is
// delivered to the host behind the egress port. Deterministic from a seed.

/// One connection a client makes.
public struct SimulatedConnection: Sendable {
    public enum Transport: Sendable { case tcp, udp }

    /// The client host's name.
    public var client: String
    /// A DNS name (resolved in the client's VPC) or an address.
    public var destination: String
    public var port: UInt16
    public var transport: Transport = .tcp
    /// Bytes the server sends back (HTTP: the whole response; echo servers echo the request).
    public var responseBytes = 600
    public var requestBytes = 64
    /// Seconds after the simulation's start.
    public var start: Double
    public var preferIPv6 = false

    public init(client: String, destination: String, port: UInt16, start: Double) {
        self.client = client
        self.destination = destination
        self.port = port
        self.start = start
    }
}

/// What became of a connection.
public enum ConnectionOutcome: Equatable, Sendable {
    case pending
    /// Done; `server` is what the server said it is ("web-a in us-east-1a").
    case completed(server: String)
    /// The dataplane dropped its first packet, for this reason.
    case refused(DropReason)
    /// A RST ended it.
    case reset
    /// The name did not resolve in the client's VPC.
    case unresolved(String)
    /// Nothing came back.
    case noAnswer
}

public final class TrafficSimulator {
    /// One hop's delay: a host's packet reaches the dataplane, or the dataplane's a host, after it.
    public static let hopDelay: Int64 = 50_000

    let topology: Topology
    public let dataplane: Dataplane
    let dns: DNSView
    var hosts: [SimulatedHost] = []
    private var hostByPort: [Int: Int] = [:]
    /// Per outside host of the port map, the simulated host it is.
    private var hostByOutsideHost: [Int: Int] = [:]
    private var queue = EventQueue()
    private var random: SimulationRandom
    private let start: Int64
    private let batch = PacketBatch()
    private let pool: UnsafeMutableRawPointer
    private var batchHosts = [Int](repeating: 0, count: PacketBatch.capacity)
    private var scheduledActions: [(time: Int64, action: (Dataplane) -> Void)] = []
    public private(set) var connections: [SimulatedConnection] = []
    public private(set) var outcomes: [ConnectionOutcome] = []
    /// The address each connection's destination resolved to.
    public private(set) var resolved: [String?] = []
    public private(set) var packetsSent = 0
    /// Where what the hosts sent is written, packet by packet, in the order the dataplane saw it.
    private let capture: CaptureWriter?

    static let slotSize = 16384

    public init(topology: Topology, configuration: DataplaneConfiguration = DataplaneConfiguration(), seed: UInt64,
                start: Int64 = 1_700_000_000_000_000_000, capture: CaptureWriter? = nil) {
        self.topology = topology
        dataplane = Dataplane(tables: topology.forwardingTables(), configuration: configuration)
        dns = DNSView(topology)
        random = SimulationRandom(seed: seed)
        self.start = start
        self.capture = capture
        pool = .allocate(byteCount: PacketBatch.capacity * TrafficSimulator.slotSize, alignment: 64)
        let tables = dataplane.tables
        for (index, host) in topology.hosts.enumerated() {
            var simulated = SimulatedHost(name: host.name, index: index, server: host.server)
            if let server = host.server, server.kind == .appliance {
                simulated.appliance = ApplianceInspector(drops: server.drops, counts: server.counts)
            }
            switch host.placement {
            case .vpc(let interface):
                let eni = topology[interface]
                simulated.ipv4 = eni.ipv4
                simulated.ipv6 = eni.ipv6
                simulated.vpc = topology[eni.subnet].vpc.index
                simulated.zone = topology.zones[topology[eni.subnet].zone.index].name
                simulated.port = tables.ports.firstIndex { $0.kind == .interface(interface.index) }
            case .external(let network, let ipv4, let ipv6):
                simulated.ipv4 = ipv4
                simulated.ipv6 = ipv6
                simulated.zone = network
                // Outside hosts send through their network's port: a service network, or the
                // internet gateway of the VPC they talk to (chosen per packet).
                if let list = topology.prefixLists.firstIndex(where: { $0.name == network }) {
                    simulated.port = tables.ports.firstIndex { $0.kind == .serviceNetwork(prefixList: list) }
                }
            }
            if let port = simulated.port, case .interface = tables.ports[port].kind { hostByPort[port] = index }
            if let outside = tables.portMap.outsideHosts.firstIndex(where: { $0.name == host.name }) {
                hostByOutsideHost[outside] = index
            }
            hosts.append(simulated)
        }
    }

    deinit { pool.deallocate() }

    // MARK: Planning

    /// Adds a connection to make; returns its index.
    @discardableResult
    public func add(_ connection: SimulatedConnection) -> Int {
        connections.append(connection)
        outcomes.append(.pending)
        resolved.append(nil)
        let index = connections.count - 1
        guard let client = hosts.firstIndex(where: { $0.name == connection.client }) else {
            outcomes[index] = .unresolved("no host named \(connection.client)")
            return index
        }
        // The socket opens when the connection starts, so that ports are taken in time order.
        queue.push(time: start + Int64(connection.start * 1e9), host: client, bytes: [], connection: index)
        return index
    }

    /// The first packet of a connection that starts now, or nil when its name does not resolve.
    private func open(_ index: Int, host: Int) -> [UInt8]? {
        let connection = connections[index]
        guard let destination = resolve(connection.destination, from: hosts[host], preferIPv6: connection.preferIPv6) else {
            outcomes[index] = .unresolved(connection.destination)
            return nil
        }
        resolved[index] = destination
        return hosts[host].open(connection: index, to: destination, port: connection.port, transport: connection.transport,
                                requestBytes: connection.requestBytes, responseBytes: connection.responseBytes, random: &random)
    }

    /// Sends a packet a host makes by hand (a provider-initiated SYN, an oversize segment).
    public func inject(_ packet: [UInt8], from host: String, at seconds: Double) {
        guard let index = hosts.firstIndex(where: { $0.name == host }) else { return }
        queue.push(time: start + Int64(seconds * 1e9), host: index, bytes: packet)
    }

    /// Runs `action` on the dataplane at that time (a target turning unhealthy).
    public func schedule(at seconds: Double, _ action: @escaping (Dataplane) -> Void) {
        scheduledActions.append((start + Int64(seconds * 1e9), action))
        scheduledActions.sort { $0.time < $1.time }
    }

    /// A name resolved in the client's view, or an address as it is.
    func resolve(_ destination: String, from host: SimulatedHost, preferIPv6: Bool) -> String? {
        if IPv4Address(destination) != nil || IPv6Address(destination) != nil { return destination }
        if preferIPv6, case .ipv6(let addresses) = dns.resolve(destination, type: .aaaa, from: host.vpc), !addresses.isEmpty {
            return addresses[random.below(addresses.count)].description
        }
        if case .ipv4(let addresses) = dns.resolve(destination, type: .a, from: host.vpc), !addresses.isEmpty {
            return addresses[random.below(addresses.count)].description
        }
        return nil
    }

    // MARK: Running

    /// Runs until nothing is left to send or `packetLimit` packets were sent. Connections still
    /// open then end as `noAnswer`.
    /// `progress` hears the share of the work done (packets against the limit, or connections
    /// finished) and the packets sent, now and then.
    public func run(packetLimit: Int = .max, progress: ((Double, Int) -> Void)? = nil) {
        var batches = 0
        while let first = queue.earliest, packetsSent < packetLimit {
            batches += 1
            if let progress, batches % 64 == 0 {
                let finished = outcomes.lazy.filter { $0 != .pending }.count
                let share = packetLimit == .max ? Double(finished) / Double(max(1, outcomes.count))
                    : Double(packetsSent) / Double(packetLimit)
                progress(share, packetsSent)
            }
            while let action = scheduledActions.first, action.time <= first {
                action.action(dataplane)
                scheduledActions.removeFirst()
            }
            // Only packets that no reply of this batch could precede: each reply comes a hop later.
            batch.removeAll()
            while batch.count < PacketBatch.capacity, packetsSent < packetLimit, let next = queue.earliest,
                  next < first + TrafficSimulator.hopDelay,
                  scheduledActions.first.map({ next < $0.time }) ?? true {
                let event = queue.pop()!
                admit(event)
            }
            guard batch.count > 0 else { continue }
            dataplane.process(batch)
            deliver()
        }
        for index in outcomes.indices where outcomes[index] == .pending { outcomes[index] = .noAnswer }
        for action in scheduledActions { action.action(dataplane) }
        scheduledActions.removeAll()
    }

    private func admit(_ event: EventQueue.Event) {
        var event = event
        if event.connection >= 0 {
            guard let first = open(event.connection, host: event.host) else { return }
            event.bytes = first
        }
        let host = hosts[event.host]
        guard let port = ingressPort(of: host, packet: event.bytes) else { return }
        // Room in front, for the GWLB's encapsulation.
        let headroom = 128
        let slot = pool + batch.count * TrafficSimulator.slotSize + headroom
        event.bytes.withUnsafeBytes { slot.copyMemory(from: $0.baseAddress!, byteCount: event.bytes.count) }
        event.bytes.withUnsafeBytes { capture?.write($0, timestampNanoseconds: event.time) }
        packetsSent += 1
        batchHosts[batch.count] = event.host
        batch.append(slot, length: event.bytes.count, capacity: TrafficSimulator.slotSize - headroom, ingressPort: port,
                     time: event.time, headroom: headroom)
    }

    /// A VPC host sends on its ENI; an AWS service host on its service network; an internet
    /// host on the internet gateway of the VPC that owns the destination (the port map's answer).
    private func ingressPort(of host: SimulatedHost, packet: [UInt8]) -> Int? {
        if let port = host.port { return port }
        var copy = packet
        return copy.withUnsafeMutableBytes { dataplane.tables.ingressPort(ofPacket: $0) }
    }

    private func deliver() {
        for index in 0..<batch.count {
            let bytes = Array(batch.bytes(index))
            let time = batch.times[index] + TrafficSimulator.hopDelay
            guard let port = batch.verdicts[index].port else {
                if let reason = batch.verdicts[index].dropReason, let connection = hosts[batchHosts[index]].connection(sending: bytes),
                   outcomes[connection] == .pending {
                    outcomes[connection] = .refused(reason)
                }
                continue
            }
            // A VPC host by its port; behind a gateway or a service network, the outside host
            // the dataplane found there.
            guard let receiver = hostByPort[port] ?? batch.verdicts[index].outsideHost.flatMap({ hostByOutsideHost[$0] }) else {
                continue
            }
            let (replies, finished) = hosts[receiver].receive(bytes, random: &random)
            for (connection, outcome) in finished where outcomes[connection] == .pending { outcomes[connection] = outcome }
            for reply in replies { queue.push(time: time, host: receiver, bytes: reply) }
        }
    }
}

/// SplitMix64: the simulation's only source of randomness.
struct SimulationRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return FlowHash.finalize(state)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}
