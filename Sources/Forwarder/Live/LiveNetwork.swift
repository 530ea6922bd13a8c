import Dataplane
import Foundation
import Glibc
import PacketIO
import PacketWire
import Topology

/// `privet up`: one network namespace per host, each with a TUN device as its ENI, addressed
/// and routed as its subnet says; the built-in servers running inside; and forwarding threads
/// (workers, ForwardingWorker.swift), each reading its queue of every TUN device, running its
/// dataplane and writing what comes out.
public final class LiveNetwork: @unchecked Sendable {
    /// A host made real: its namespace, its TUN device, the dataplane port it sends on.
    struct Plumbing {
        var namespace: NetworkNamespace
        /// The device's queues, one per worker.
        var queues: [TUNDevice]
        /// The port of a VPC host; nil for a host outside every VPC (it sends on the gateway or
        /// service network its packets' destination calls for).
        var port: Int?
        var server: Process?
    }

    public let name: String
    public private(set) var topology: Topology
    /// TUN devices with IFF_VNET_HDR and checksum/TSO offloads: TCP crosses as 64 KB packets.
    public var offloads = true
    /// Segments of a tunnelled super-packet go into the appliance's device as super-datagrams,
    /// the kernel cutting them (UDP segmentation offload, Linux 6.2+); else one write each. Set
    /// from the kernel's version at start, turned off if the kernel refuses one.
    public private(set) var udpSegmentationOffload = TUNDevice.kernelTakesUDPSegmentation
    /// Forwarding threads, each with a dataplane owning a shard of the flows and a queue of
    /// every device.
    public let workerCount: Int
    /// One per worker. Their tables, target health and endpoint states are alike (changed only
    /// with every worker parked); their counts and sessions are each worker's own.
    let dataplanes: [Dataplane]
    /// Worker 0's dataplane: the tables, health and endpoint states of all.
    public var dataplane: Dataplane { dataplanes[0] }
    var workers: [ForwardingWorker] = []
    let gate: WorkerGate
    var plumbing: [Plumbing] = []
    /// Per dataplane port, the plumbing index writing to it (VPC host ports).
    var writerOfPort: [Int: Int] = [:]
    /// Per outside host of the port map (`PortMap.outsideHosts`), its plumbing index.
    var plumbingOfOutsideHost: [Int: Int] = [:]
    let lock = NSLock()
    var pendingTopology: Topology?
    var pendingSpec: TopologySpec?
    /// The spec of the topology the forwarding thread runs, when it came from one (a file, or
    /// the API's edits of it): what the AWS API edits. Owned by the forwarding thread.
    var currentSpec: TopologySpec?
    /// Questions for the forwarding thread (`ask`), answered between batches.
    var pendingQuestions: [(LiveNetwork, Topology, Int64) -> Void] = []
    var running = true
    /// When forwarding started (the monotonic clock).
    public private(set) var started: Int64 = 0
    /// Room in front of each packet read, for headers the dataplane adds in place.
    static let headroom = 128
    /// Told why, when forwarding stops on its own (every device gone, the poller broken).
    public var stoppedByItself: (@Sendable (String) -> Void)?
    /// `up --flow-log`: VPC Flow Logs records of the running topology (`logFlows(to:)`).
    var flowLog: FlowLogWriter?
    /// Every worker writes its records to the one flow log, one at a time.
    private let flowLogLock = NSLock()
    /// When the flow log last wrote its finished REJECT intervals and flushed.
    private var flowLogFlushed: Int64 = 0

    /// Hosts whose TUN devices failed a read (the device vanished: its namespace was removed
    /// under the running `up`): left out from then on.
    public internal(set) var lostHosts: [String] = []
    private var threads: [Thread] = []
    /// Owned by worker 0 while forwarding runs.
    public internal(set) var checker: HealthChecker
    /// Health changes worker 0 found while forwarding a batch, applied to every worker before
    /// the next.
    var healthChanges: [HealthChecker.Change] = []
    /// Reloads so far: changed by worker 0 with the others parked, so each sees it after.
    var tablesGeneration = 0

    // What the workers counted, added up: read with the workers parked (`ask`) or stopped.

    /// Batches processed, by size: bucket `b` counts those of at most 2^b packets (1 to 256).
    public var batchSizes: [UInt64] { workers.reduce(into: [UInt64](repeating: 0, count: 9)) { sum, worker in
        for bucket in sum.indices { sum[bucket] &+= worker.batchSizes[bucket] } } }
    /// Packets in all batches, for the histogram's sum.
    public var batchedPackets: UInt64 { sum(\.batchedPackets) }
    /// Packets no port could take or give (an outside host's packet to no VPC, a reply to an
    /// address no outside host has).
    public var unroutable: UInt64 { sum(\.unroutable) }
    /// Packets whose offload header pointed outside them (dropped).
    public var badOffloads: UInt64 { sum(\.badOffloads) }
    /// Packets a TUN device's full queue refused.
    public var queueFull: UInt64 { sum(\.queueFull) }
    /// Reads and writes a TUN device failed otherwise (the kernel found a packet malformed, a
    /// device went down), and the last such failure, naming its call.
    public var deviceErrors: UInt64 { sum(\.deviceErrors) }
    public var lastDeviceError: IOError? { workers.lazy.compactMap(\.lastDeviceError).first }
    /// Offloaded TCP super-packets cut into segments for a GWLB tunnel, and the segments.
    public var tunnelSegmentations: UInt64 { sum(\.tunnelSegmentations) }
    public var tunnelSegments: UInt64 { sum(\.tunnelSegments) }
    /// Super-datagrams written into tunnels (UDP segmentation offload).
    public var tunnelSuperDatagrams: UInt64 { sum(\.tunnelSuperDatagrams) }
    /// Whether the devices hand over UDP super-datagrams whole (the kernel took TUN_F_USO).
    public var readsUDPSuperDatagrams: Bool { workers.first?.devices.first?.readsUDPSuperDatagrams ?? false }
    /// UDP super-datagrams read from devices (an appliance's `UDP_SEGMENT` answers), each cut
    /// into its datagrams.
    public var superDatagramsRead: UInt64 { sum(\.superDatagramsRead) }
    /// Super-packets made of segments out of a GWLB tunnel (software GRO).
    public var tunnelMerges: UInt64 { sum(\.tunnelMerges) }
    /// Packets a worker read that another owns, handed to it; and those the owner's full ring
    /// refused (dropped).
    public var handedOff: UInt64 { sum(\.handedOff) }
    public var handoffRingFull: UInt64 { sum(\.handoffRingFull) }
    /// DNS queries the resolvers answered, and those too short to answer.
    public var resolverAnswered: UInt64 { sum(\.resolver.answered) }
    public var resolverMalformed: UInt64 { sum(\.resolver.malformed) }
    /// Every worker's counts added up.
    public var counters: Counters { Counters.sum(dataplanes.map(\.counters)) }
    /// Sessions of every worker.
    public var sessionsInUse: Int { dataplanes.reduce(0) { $0 + $1.flows.count } }
    public var sessionCapacity: Int { dataplanes.reduce(0) { $0 + $1.flows.capacity } }

    private func sum(_ count: KeyPath<ForwardingWorker, UInt64>) -> UInt64 { workers.reduce(0) { $0 &+ $1[keyPath: count] } }

    /// NAT ports in use from a node to a target, by every worker.
    public func natPortsInUse(node: Int, target: Int) -> Int { dataplanes.reduce(0) { $0 + $1.natPortsInUse(node: node, target: target) } }


    /// `name` names the namespaces (`privet-NAME-HOST`) and TUN devices; it comes from the
    /// topology file's name. `workers` forwarding threads (at most 256, the queues a TUN device
    /// can have) share the flow table's capacity.
    public init(topology: Topology, spec: TopologySpec? = nil, name: String,
                configuration: DataplaneConfiguration = DataplaneConfiguration(), workers: Int = 1) {
        precondition(workers >= 1 && workers <= LiveNetwork.maximumWorkers)
        self.topology = topology
        currentSpec = spec
        self.name = name
        workerCount = workers
        gate = WorkerGate(workers: workers)
        let tables = topology.forwardingTables()
        var configuration = configuration
        configuration.prefaultFlowTable = true
        dataplanes = (0..<workers).map { index in Dataplane(tables: tables, configuration: configuration.forWorker(index, of: workers)) }
        checker = HealthChecker(topology: topology, tables: tables, now: LiveNetwork.monotonic(), workers: workers)
    }

    /// The queues a TUN device can have (the kernel's MAX_TAP_QUEUES).
    public static let maximumWorkers = Shard.maximumWorkers

    /// The default worker count: a worker a core.
    public static var defaultWorkers: Int { min(maximumWorkers, max(1, ProcessInfo.processInfo.activeProcessorCount)) }

    /// With several workers: whether each device gives a host's packets to the queue of the
    /// worker owning their flow (an eBPF steering program), or, where the kernel refuses it,
    /// to the queue that last wrote the flow (or one its hash picks), workers handing on what
    /// is not theirs.
    public private(set) var steeredByFlow = false
    /// Whether to try the steering program at all (`up --no-flow-steering` leaves the queues
    /// to the kernel, and the handing on to the workers).
    public var flowSteering = true

    private func steerByFlow(_ devices: [TUNDevice]) {
        do throws(IOError) {
            for device in devices { try device.steerByFlow(workers: workerCount) }
            steeredByFlow = true
        } catch {
            log(.warning, "\(error): the kernel picks the queues, and workers hand on the packets of flows they do not own")
        }
    }

    // MARK: Names

    public static func namespaceName(topology name: String, host: String) -> String { "privet-\(name)-\(host)" }

    /// At most 15 characters: "pv", 6 hex digits of the topology's name, the host's number.
    public static func deviceName(topology name: String, host: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in name.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash & 0xFF_FFFF, radix: 16)
        return "pv" + String(repeating: "0", count: 6 - hex.count) + hex + "-\(host)"
    }

    /// The namespaces `up` makes for a topology (what `down` removes).
    public static func namespaces(of topology: Topology, name: String) -> [String] {
        topology.hosts.map { namespaceName(topology: name, host: $0.name) }
    }

    // MARK: Building

    /// Makes the namespaces, devices, addresses, routes and resolvers, and starts the servers.
    /// A second `up` of the same topology fails before it changes anything.
    /// `progress` hears each host as its turn comes (its number, the count, its name);
    /// `cancelled` is asked before each: when it says so (Ctrl-C during the build), what was made
    /// is removed and the build fails.
    public func build(serverCommand: [String], progress: ((Int, Int, String) -> Void)? = nil,
                      cancelled: () -> Bool = { false }) throws(ForwarderError) {
        let namespaces = LiveNetwork.namespaces(of: topology, name: name)
        if let existing = namespaces.first(where: NetworkNamespace.exists) {
            throw ForwarderError(description: "namespace \(existing) exists: topology '\(name)' is already up (or a crashed `up` left it; run `privet down`)")
        }
        // Removes what was made, when the build stops half way.
        func undo() {
            teardown()
            _ = LiveNetwork.down(topology: topology, name: name)
        }
        do {
            // The namespaces, and the devices moved into them, each in one `ip -batch` for all
            // hosts (a process a host would cost more than the work); then each host's inside.
            try Shell.run(["ip", "-batch", "-"], input: namespaces.map { "netns add \($0)\n" }.joined())
            // Every queue is opened before the device leaves for its namespace (a queue attaches
            // by the device's name, in the opener's namespace).
            var devices: [[TUNDevice]] = []
            for index in topology.hosts.indices {
                devices.append(try (0..<workerCount).map { _ throws(IOError) in
                    try TUNDevice(name: LiveNetwork.deviceName(topology: name, host: index), offloads: offloads,
                                  multiQueue: workerCount > 1)
                })
            }
            if workerCount > 1 && flowSteering { steerByFlow(devices.map { $0[0] }) }
            try Shell.run(["ip", "-batch", "-"], input: topology.hosts.indices.map {
                "link set \(LiveNetwork.deviceName(topology: name, host: $0)) netns \(namespaces[$0])\n"
            }.joined())
            for index in topology.hosts.indices {
                if cancelled() {
                    undo()
                    throw ForwarderError(description: "interrupted while building: removed the \(index) hosts made so far")
                }
                progress?(index, topology.hosts.count, topology.hosts[index].name)
                try makeHost(index, device: devices[index], serverCommand: serverCommand)
            }
            try waitForServers()
        } catch let error as ForwarderError {
            throw error
        } catch let error as IOError {
            undo()
            throw ForwarderError(error)
        } catch {
            undo()
            throw ForwarderError(description: "\(error)")
        }
    }

    /// Sets up host `index` inside its namespace, whose device `device` is already in it.
    private func makeHost(_ index: Int, device queues: [TUNDevice], serverCommand: [String]) throws {
        let host = topology.hosts[index]
        let namespace = NetworkNamespace(name: LiveNetwork.namespaceName(topology: name, host: host.name))
        let deviceName = LiveNetwork.deviceName(topology: name, host: index)
        // Everything inside the namespace in one `ip -batch`: the loopback up; no link-local
        // address (the kernel would send router solicitations and MLD reports from it, which no
        // VPC answers); the VPC MTU (jumbo frames, 9001), or 1500 for the internet's hosts, the
        // MTU of traffic through an internet gateway (EC2 User Guide, "Network MTU"), which also
        // keeps their TCP through a GWLB within its 8500 bytes; the addresses and default routes.
        let internet = if case .external("internet", _, _) = host.placement { true } else { false }
        var commands = [["link", "set", "lo", "up"], ["link", "set", deviceName, "addrgenmode", "none"],
                        ["link", "set", deviceName, "mtu", internet ? "1500" : "9001", "up"]]
        func addresses(ipv4: (IPv4Address, Int)?, ipv6: (IPv6Address, Int)?) {
            if let (address, length) = ipv4 {
                commands += [["address", "add", "\(address)/\(length)", "dev", deviceName], ["route", "add", "default", "dev", deviceName]]
            }
            if let (address, length) = ipv6 {
                commands += [["address", "add", "\(address)/\(length)", "dev", deviceName, "nodad"],
                             ["route", "add", "::/0", "dev", deviceName]]
            }
        }
        var port: Int?
        var zone = ""
        switch host.placement {
        case .vpc(let interface):
            let eni = topology[interface]
            let subnet = topology[eni.subnet]
            zone = topology.zones[subnet.zone.index].name
            addresses(ipv4: eni.ipv4.flatMap { address in subnet.cidr.map { (address, $0.length) } },
                      ipv6: eni.ipv6.flatMap { address in subnet.ipv6Cidr.map { (address, $0.length) } })
            try namespace.setResolver(topology[subnet.vpc].resolver.description)
            port = dataplane.tables.ports.firstIndex { $0.kind == .interface(interface.index) }
        case .external(let network, let ipv4, let ipv6):
            zone = network
            addresses(ipv4: ipv4.map { ($0, 32) }, ipv6: ipv6.map { ($0, 128) })
            if let outside = dataplane.tables.portMap.outsideHosts.firstIndex(where: { $0.name == host.name }) {
                plumbingOfOutsideHost[outside] = plumbing.count
            }
        }
        try namespace.ip(batch: commands)
        var server: Process?
        if let built = host.server {
            server = try Shell.start(["ip", "netns", "exec", namespace.name] + serverCommand
                                     + built.privetArguments(identity: "\(host.name) in \(zone)"))
        }
        if let port { writerOfPort[port] = plumbing.count }
        plumbing.append(Plumbing(namespace: namespace, queues: queues, port: port, server: server))
    }

    /// Waits until every server that takes TCP accepts a connection in its namespace, so that
    /// what `up` then announces answers from the first request (a server is a process of its
    /// own, which takes a moment to start).
    private func waitForServers(timeout: Double = 10) throws(ForwarderError) {
        let deadline = Date().addingTimeInterval(timeout)
        for (index, host) in topology.hosts.enumerated() {
            guard let port = host.server?.listeningPort, let server = plumbing[index].server else { continue }
            while !((try? plumbing[index].namespace.run { LiveNetwork.accepts(port: port) }) ?? false) {
                guard server.isRunning else {
                    throw ForwarderError(description: "the server of \(host.name) stopped (exit status \(server.terminationStatus)) before it listened on port \(port)")
                }
                guard Date() < deadline else {
                    throw ForwarderError(description: "the server of \(host.name) did not listen on port \(port) within \(Int(timeout)) s")
                }
                usleep(10_000)
            }
        }
    }

    /// Whether a TCP connection to `port` on this namespace's loopback is accepted.
    private static func accepts(port: UInt16) -> Bool {
        guard let socket = try? Socket.tcp() else { return false }
        return (try? socket.connect(SocketAddress(IPv4Address(127, 0, 0, 1), port: port))) != nil
    }

    /// Stops the servers and removes every namespace (their devices go with them).
    public func teardown() {
        stop()
        if let flowLog {
            for dataplane in dataplanes { writeFlowLog(dataplane, now: LiveNetwork.monotonic(), final: true) }
            try? flowLog.close()
            self.flowLog = nil
        }
        for piece in plumbing {
            // SIGKILL: the servers keep no state, and a signal mask inherited from the
            // spawning thread may hold SIGTERM back.
            if let server = piece.server, server.isRunning { kill(server.processIdentifier, SIGKILL) }
            piece.namespace.delete()
        }
        plumbing.removeAll()
    }

    /// Removes what an `up` of this topology left (after a crash); returns what it removed.
    public static func down(topology: Topology, name: String) -> [String] {
        var removed: [String] = []
        for namespace in namespaces(of: topology, name: name) where NetworkNamespace.exists(namespace) {
            // Servers run in the namespace; stop them before it goes.
            if let pids = try? Shell.run(["ip", "netns", "pids", namespace]) {
                for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            NetworkNamespace(name: namespace).delete()
            removed.append(namespace)
        }
        return removed
    }

    // MARK: Forwarding

    /// A log line from the forwarding thread (health changes), for `up` to print.
    public var log: @Sendable (LogLevel, String) -> Void = { _, _ in }

    /// Starts the workers, each waiting on its queue of every host's device and on its rings.
    public func start() throws(ForwarderError) {
        do {
            workers = try (0..<workerCount).map { index throws(IOError) in
                try ForwardingWorker(index: index, dataplane: dataplanes[index], devices: plumbing.map { $0.queues[index] },
                                     resolver: VPCResolver(topology), udpSegmentationOffload: udpSegmentationOffload)
            }
        } catch { throw ForwarderError(error) }
        // A ring from each worker to each other: 64 slots of a super-packet each.
        for consumer in workers {
            consumer.inbound = workers.map { producer in
                producer === consumer ? nil : HandoffRing(capacity: 64, packetCapacity: 65536, headroom: LiveNetwork.headroom)
            }
        }
        running = true
        started = LiveNetwork.monotonic()
        threads = workers.map { worker in
            let thread = Thread { [self] in
                forward(on: worker)
                gate.finish()
            }
            thread.name = "privet-worker-\(worker.index)"
            thread.start()
            return thread
        }
    }

    public func stop() {
        lock.lock()
        running = false
        lock.unlock()
        for worker in workers { worker.wake.signal() }
        while threads.contains(where: \.isExecuting) { usleep(10_000) }
        threads = []
    }

    /// Writes VPC Flow Logs records to `path` while forwarding, as replay does: each session's
    /// ACCEPT records per ENI and aggregation interval, and REJECT records of what the fabric
    /// refused, on the ENI that refused it. Call before `start`.
    public func logFlows(to path: String, format: FlowLogFormat = .default) throws(ForwarderError) {
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let offset = Int64(wall.tv_sec) * 1_000_000_000 + Int64(wall.tv_nsec) - LiveNetwork.monotonic()
        flowLog = try FlowLogWriter(path: path, format: format, topology: topology, interval: dataplane.configuration.flowLogInterval,
                                    clockOffset: offset)
    }

    /// A worker's flow-log records so far to the file; at the end, the open sessions' last
    /// intervals and every REJECT record too. Each worker on its own thread, or after they
    /// stopped.
    func writeFlowLog(_ dataplane: Dataplane, now: Int64, final: Bool) {
        guard let flowLog else {
            dataplane.flowRecords.drain { _ in }
            return
        }
        flowLogLock.lock()
        defer { flowLogLock.unlock() }
        dataplane.flowRecords.drain { flowLog.write($0) }
        if final { dataplane.endAllSessions(now: now) { flowLog.write($0) } }
        guard final || now - flowLogFlushed >= 1_000_000_000 else { return }
        flowLogFlushed = now
        flowLog.writeRejects(endedBefore: final ? nil : now)
        flowLog.flush()
    }

    /// The REJECT records of a worker's batch, in its order.
    func logRejects(of batch: PacketBatch) {
        guard let flowLog else { return }
        flowLogLock.lock()
        defer { flowLogLock.unlock() }
        for index in 0..<batch.count {
            let verdict = batch.verdicts[index]
            guard verdict.dropReason?.isReject == true, let interface = verdict.interface else { continue }
            flowLog.reject(interface: interface, flow: batch.refusedFlows[index], packet: UnsafeRawBufferPointer(batch.bytes(index)),
                           time: batch.times[index])
        }
    }

    /// Runs `question` on worker 0 between batches, with every other worker parked, with the
    /// topology they forward and the clock, and returns its answer; nil when forwarding has
    /// stopped or does not answer within two seconds. What reads the dataplanes from another
    /// thread goes through here.
    public func ask<Answer: Sendable>(_ question: @escaping @Sendable (LiveNetwork, Topology, Int64) -> Answer) -> Answer? {
        let box = AnswerBox<Answer>(), done = DispatchSemaphore(value: 0)
        lock.lock()
        guard running, !threads.isEmpty else {
            lock.unlock()
            return nil
        }
        pendingQuestions.append { network, topology, now in
            box.answer = question(network, topology, now)
            done.signal()
        }
        lock.unlock()
        workers[0].wake.signal()
        guard done.wait(timeout: .now() + 2) == .success else { return nil }
        return box.answer
    }

    /// Where the forwarding thread leaves an answer for the asking one.
    private final class AnswerBox<Answer>: @unchecked Sendable { var answer: Answer? }

    /// The running topology as a topology file (`privet status --yaml`): the file `up` read,
    /// with what the AWS API changed; nil when not forwarding or read from no file.
    public func specYAML() -> String? { ask { network, _, _ in network.currentSpec?.yaml } ?? nil }

    /// The status, as `privet status` shows it.
    public func status() -> LiveStatus? { ask { network, topology, now in network.status(topology: topology, now: now) } }

    /// The flows `filter` selects, as `privet flows` shows them.
    public func flows(_ filter: LiveFlow.Filter) -> [LiveFlow]? {
        ask { network, topology, now in network.flows(topology: topology, filter: filter, now: now) }
    }

    /// Swaps in the tables of `topology` between batches (SIGHUP, the AWS API), keeping
    /// established flows; `spec` is what it was resolved from. The hosts must stay as they are:
    /// they are namespaces and devices, made once by `up`.
    public func reload(_ topology: Topology, spec: TopologySpec?) throws(ForwarderError) {
        func plumbed(_ topology: Topology) -> [String] {
            topology.hosts.map { "\($0.name) \(topology.addresses(of: $0).joined(separator: " "))" }
        }
        guard plumbed(topology) == plumbed(self.topology) else {
            throw ForwarderError(description: "the hosts changed; a reload may change everything but the hosts (restart `up` for that)")
        }
        lock.lock()
        pendingTopology = topology
        pendingSpec = spec
        self.topology = topology
        lock.unlock()
        workers.first?.wake.signal()
    }

    func outputs(_ tables: ForwardingTables) -> [Output] {
        tables.ports.enumerated().map { index, port in
            switch port.kind {
            case .interface: return writerOfPort[index].map { .device($0) } ?? .outside
            case .internetGateway, .serviceNetwork: return .outside
            case .resolver(let vpc): return .resolver(vpc: vpc)
            case .healthChecks: return .healthChecks
            }
        }
    }

    public static func monotonic() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
