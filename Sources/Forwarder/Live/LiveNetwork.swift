import Dataplane
import Foundation
import Glibc
import PacketIO
import PacketWire
import Topology

/// `privet up`: one network namespace per host, each with a TUN device as its ENI, addressed
/// and routed as its subnet says; the built-in servers running inside; and one forwarding
/// thread that reads every TUN, runs the dataplane and writes what comes out.
public final class LiveNetwork: @unchecked Sendable {
    /// A host made real: its namespace, its TUN device, the dataplane port it sends on.
    struct Plumbing {
        var namespace: NetworkNamespace
        var device: TUNDevice
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
    public private(set) var udpSegmentationOffload = LiveNetwork.kernelTakesUDPSegmentation()
    /// Super-datagrams written so.
    public private(set) var tunnelSuperDatagrams: UInt64 = 0
    public let dataplane: Dataplane
    var plumbing: [Plumbing] = []
    /// Per dataplane port, the plumbing index writing to it (VPC host ports).
    private var writerOfPort: [Int: Int] = [:]
    /// Per outside host of the port map (`PortMap.outsideHosts`), its plumbing index.
    private var plumbingOfOutsideHost: [Int: Int] = [:]
    private let lock = NSLock()
    private var pendingTopology: Topology?
    private var pendingSpec: TopologySpec?
    /// The spec of the topology the forwarding thread runs, when it came from one (a file, or
    /// the API's edits of it): what the AWS API edits. Owned by the forwarding thread.
    private(set) var currentSpec: TopologySpec?
    /// Questions for the forwarding thread (`ask`), answered between batches.
    private var pendingQuestions: [(LiveNetwork, Topology, Int64) -> Void] = []
    private var running = true
    /// When forwarding started (the monotonic clock).
    public private(set) var started: Int64 = 0
    /// Told why, when forwarding stops on its own (every device gone, the poller broken).
    public var stoppedByItself: (@Sendable (String) -> Void)?
    /// `up --flow-log`: VPC Flow Logs records of the running topology (`logFlows(to:)`).
    private var flowLog: FlowLogWriter?
    /// When the flow log last wrote its finished REJECT intervals and flushed.
    private var flowLogFlushed: Int64 = 0

    /// Batches processed, by size: bucket `b` counts those of at most 2^b packets (1 to 256).
    public private(set) var batchSizes = [UInt64](repeating: 0, count: 9)
    /// Packets in all batches, for the histogram's sum.
    public private(set) var batchedPackets: UInt64 = 0
    /// Hosts whose TUN devices failed a read (the device vanished: its namespace was removed
    /// under the running `up`): left out from then on.
    public private(set) var lostHosts: [String] = []
    private var thread: Thread?
    /// Packets no port could take or give (an outside host's packet to no VPC, a reply to an
    /// address no outside host has).
    public private(set) var unroutable: UInt64 = 0
    /// Packets whose offload header pointed outside them (dropped).
    public private(set) var badOffloads: UInt64 = 0
    /// Packets a TUN device's full queue refused.
    public private(set) var queueFull: UInt64 = 0
    /// Reads and writes a TUN device failed otherwise (the kernel found a packet malformed, a
    /// device went down), and the last such failure, naming its call.
    public private(set) var deviceErrors: UInt64 = 0
    public private(set) var lastDeviceError: IOError?
    /// Offloaded TCP super-packets cut into segments for a GWLB tunnel, and the segments.
    public private(set) var tunnelSegmentations: UInt64 = 0
    public private(set) var tunnelSegments: UInt64 = 0
    /// Super-packets made of segments out of a GWLB tunnel (software GRO).
    public private(set) var tunnelMerges: UInt64 = 0
    /// Owned by the forwarding thread while it runs.
    public private(set) var resolver: VPCResolver
    public private(set) var checker: HealthChecker


    /// `name` names the namespaces (`privet-NAME-HOST`) and TUN devices; it comes from the
    /// topology file's name.
    public init(topology: Topology, spec: TopologySpec? = nil, name: String,
                configuration: DataplaneConfiguration = DataplaneConfiguration()) {
        self.topology = topology
        currentSpec = spec
        self.name = name
        var configuration = configuration
        configuration.prefaultFlowTable = true
        dataplane = Dataplane(tables: topology.forwardingTables(), configuration: configuration)
        resolver = VPCResolver(topology)
        checker = HealthChecker(topology: topology, tables: dataplane.tables, now: LiveNetwork.monotonic())
    }

    /// Whether the running kernel takes `VIRTIO_NET_HDR_GSO_UDP_L4` from a TUN device's writer:
    /// 6.2 and later.
    static func kernelTakesUDPSegmentation() -> Bool {
        var name = utsname()
        uname(&name)
        let release = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let parts = release.split(whereSeparator: { !$0.isNumber }).prefix(2).compactMap { Int($0) }
        guard parts.count == 2 else { return false }
        return parts[0] > 6 || (parts[0] == 6 && parts[1] >= 2)
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
            var devices: [TUNDevice] = []
            for index in topology.hosts.indices {
                devices.append(try TUNDevice(name: LiveNetwork.deviceName(topology: name, host: index), offloads: offloads))
            }
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
    private func makeHost(_ index: Int, device: TUNDevice, serverCommand: [String]) throws {
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
        plumbing.append(Plumbing(namespace: namespace, device: device, port: port, server: server))
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
            writeFlowLog(now: LiveNetwork.monotonic(), final: true)
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

    /// Where a port's packets go once the dataplane is done with them.
    enum Output {
        /// A host's TUN device (by plumbing index).
        case device(Int)
        /// An outside network: the outside host that owns the destination.
        case outside
        case resolver(vpc: Int)
        case healthChecks
    }

    /// A log line from the forwarding thread (health changes), for `up` to print.
    public var log: @Sendable (LogLevel, String) -> Void = { _, _ in }

    /// Starts the forwarding thread, which waits on every host's device.
    public func start() throws(ForwarderError) {
        let poller: EventPoll
        do {
            poller = try EventPoll()
            for (index, piece) in plumbing.enumerated() { try poller.watch(piece.device.descriptor, token: UInt64(index)) }
        } catch { throw ForwarderError(error) }
        running = true
        started = LiveNetwork.monotonic()
        let thread = Thread { [self] in forwardingLoop(poller) }
        thread.name = "privet-forwarding"
        thread.start()
        self.thread = thread
    }

    public func stop() {
        lock.lock()
        running = false
        lock.unlock()
        while thread?.isExecuting == true { usleep(10_000) }
        thread = nil
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

    /// The flow log's records so far to its file; at the end, the open sessions' last intervals
    /// and every REJECT record too. On the forwarding thread, or after it stopped.
    private func writeFlowLog(now: Int64, final: Bool) {
        guard let flowLog else {
            dataplane.flowRecords.drain { _ in }
            return
        }
        dataplane.flowRecords.drain { flowLog.write($0) }
        if final { dataplane.endAllSessions(now: now) { flowLog.write($0) } }
        guard final || now - flowLogFlushed >= 1_000_000_000 else { return }
        flowLogFlushed = now
        flowLog.writeRejects(endedBefore: final ? nil : now)
        flowLog.flush()
    }

    /// Runs `question` on the forwarding thread between batches, with the topology it forwards
    /// and the clock, and returns its answer; nil when forwarding has stopped or does not answer
    /// within two seconds. What reads the dataplane from another thread goes through here.
    public func ask<Answer: Sendable>(_ question: @escaping @Sendable (LiveNetwork, Topology, Int64) -> Answer) -> Answer? {
        let box = AnswerBox<Answer>(), done = DispatchSemaphore(value: 0)
        lock.lock()
        guard running, thread != nil else {
            lock.unlock()
            return nil
        }
        pendingQuestions.append { network, topology, now in
            box.answer = question(network, topology, now)
            done.signal()
        }
        lock.unlock()
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
    }

    private func outputs(_ tables: ForwardingTables) -> [Output] {
        tables.ports.enumerated().map { index, port in
            switch port.kind {
            case .interface: return writerOfPort[index].map { .device($0) } ?? .outside
            case .internetGateway, .serviceNetwork: return .outside
            case .resolver(let vpc): return .resolver(vpc: vpc)
            case .healthChecks: return .healthChecks
            }
        }
    }

    private func forwardingLoop(_ poller: EventPoll) {
        // One slot per packet of the batch, with headroom in front (the dataplane may grow a
        // packet's headers in place).
        let headroom = 128, slot = 65536 + headroom
        let pool = UnsafeMutableRawPointer.allocate(byteCount: PacketBatch.capacity * slot, alignment: 64)
        defer { pool.deallocate() }
        // Where a super-packet's segments are built, one at a time, on their way into a tunnel;
        // and where segments out of one are merged again.
        let scratch = UnsafeMutableRawBufferPointer.allocate(byteCount: slot, alignment: 64)
        defer { scratch.deallocate() }
        // Where a super-datagram into a tunnel is gathered (at most 64 KiB).
        let staging = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 64)
        defer { staging.deallocate() }
        var coalescer = SegmentCoalescer(capacity: 65536)
        defer { coalescer.deallocate() }
        let batch = PacketBatch()
        var senders = [Int](repeating: -1, count: PacketBatch.capacity)
        var outputs = outputs(dataplane.tables)
        var healthPort = dataplane.tables.ports.firstIndex { $0.kind == .healthChecks }
        // The thread's own copy: `reload` replaces `topology` on another thread.
        lock.lock()
        var current = topology
        lock.unlock()
        checker = HealthChecker(topology: current, tables: dataplane.tables, now: LiveNetwork.monotonic())
        resolver = VPCResolver(current)
        var probes: [[UInt8]] = []
        let ledger = OffloadLedger(capacity: PacketBatch.capacity)

        func add(_ bytes: UnsafeRawBufferPointer, port: Int, sender: Int) {
            let start = pool + batch.count * slot + headroom
            start.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            senders[batch.count] = sender
            ledger.madeHere(batch.count)
            batch.append(start, length: bytes.count, capacity: slot - headroom, ingressPort: port, headroom: headroom)
        }
        func failed(_ error: IOError) {
            deviceErrors &+= 1
            lastDeviceError = error
        }
        func send(_ bytes: UnsafeRawBufferPointer, to device: TUNDevice, header: UnsafePointer<VirtioNetHeader>? = nil) {
            do throws(IOError) {
                if try !device.write(bytes, header: header) { queueFull &+= 1 }
            } catch { failed(error) }
        }
        func writeMerged(_ writer: Int, _ bytes: UnsafeRawBufferPointer, _ header: VirtioNetHeader?) {
            if var header {
                withUnsafePointer(to: &header) { send(bytes, to: plumbing[writer].device, header: $0) }
                tunnelMerges &+= 1
            } else {
                send(bytes, to: plumbing[writer].device)
            }
        }
        func apply(_ change: HealthChecker.Change) {
            dataplane.setTargetHealth(change.targetIndex, healthy: change.healthy)
            log(change.healthy ? .info : .warning,
                "target \(change.target) is \(change.healthy ? "healthy" : "unhealthy"): \(change.reason)")
        }

        while true {
            lock.lock()
            let keepGoing = running
            let reloaded = pendingTopology, reloadedSpec = pendingSpec
            pendingTopology = nil
            pendingSpec = nil
            let questions = pendingQuestions
            pendingQuestions.removeAll()
            lock.unlock()
            guard keepGoing else { return }
            if let reloaded {
                current = reloaded
                currentSpec = reloadedSpec
                // Records of the old tables are written under the old ENI names.
                writeFlowLog(now: LiveNetwork.monotonic(), final: false)
                dataplane.replaceTables(reloaded.forwardingTables())
                flowLog?.use(reloaded)
                outputs = self.outputs(dataplane.tables)
                healthPort = dataplane.tables.ports.firstIndex { $0.kind == .healthChecks }
                checker = HealthChecker(topology: reloaded, tables: dataplane.tables, now: LiveNetwork.monotonic(),
                                        carrying: checker)
                resolver = VPCResolver(reloaded)
            }
            for question in questions { question(self, current, LiveNetwork.monotonic()) }
            for change in checker.poll(now: LiveNetwork.monotonic(), send: { probes.append($0) }) { apply(change) }

            let ready: Int
            do { ready = try poller.wait(milliseconds: probes.isEmpty ? 20 : 0) } catch {
                // Only a broken poller fails here (EBADF, EINVAL); say so once and stop.
                log(.error, "forwarding stopped: \(error)")
                stoppedByItself?("the poller failed: \(error)")
                return
            }
            batch.removeAll()
            if let healthPort {
                for probe in probes where !batch.isFull { probe.withUnsafeBytes { add($0, port: healthPort, sender: -1) } }
            }
            probes.removeAll(keepingCapacity: true)
            for event in 0..<ready {
                let index = Int(poller.token(event))
                let piece = plumbing[index]
                // Up to 32 packets from one device at a time, so that no device starves the rest.
                var taken = 0
                while taken < 32 && !batch.isFull {
                    let start = pool + batch.count * slot + headroom
                    // With offloads the virtio header lands in the headroom, just before the packet.
                    let front = piece.device.offloads ? VirtioNetHeader.size : 0
                    let buffer = UnsafeMutableRawBufferPointer(start: start - front, count: slot - headroom + front)
                    let read: Int
                    do {
                        guard let count = try piece.device.read(into: buffer), count > front else { break }
                        read = count
                    } catch {
                        // A TUN device fails a read only when it is gone (EBADFD once its
                        // namespace is removed): polling it again would spin on the same error.
                        failed(error)
                        try? poller.unwatch(piece.device.descriptor)
                        let host = current.hosts[index].name
                        lostHosts.append(host)
                        log(.warning, "host \(host): its device failed (\(error)), its namespace removed under `up`? Forwarding goes on without it")
                        if lostHosts.count == plumbing.count {
                            log(.error, "every host's device is gone: forwarding stops")
                            stoppedByItself?("every host's device is gone")
                            return
                        }
                        break
                    }
                    taken += 1
                    let packet = UnsafeMutableRawBufferPointer(start: start, count: read - front)
                    let header = front > 0 ? (start - front).loadUnaligned(as: VirtioNetHeader.self) : VirtioNetHeader()
                    guard let segmentLength = ledger.arrived(batch.count, header: header, packet: packet) else {
                        badOffloads &+= 1
                        continue
                    }
                    guard let port = piece.port ?? dataplane.tables.ingressPort(ofPacket: packet) else {
                        unroutable &+= 1
                        continue
                    }
                    senders[batch.count] = index
                    batch.append(start, length: packet.count, capacity: slot - headroom, ingressPort: port,
                                 segmentLength: segmentLength, headroom: headroom)
                }
            }
            guard batch.count > 0 else {
                // No packets: the timer's tick still ends the sessions whose time is up.
                dataplane.expire(now: LiveNetwork.monotonic())
                writeFlowLog(now: LiveNetwork.monotonic(), final: false)
                continue
            }
            dataplane.process(batch, now: LiveNetwork.monotonic())
            batchSizes[min(8, Int.bitWidth - (batch.count - 1).leadingZeroBitCount)] &+= 1
            batchedPackets &+= UInt64(batch.count)
            if let flowLog {
                for index in 0..<batch.count {
                    let verdict = batch.verdicts[index]
                    guard verdict.dropReason?.isReject == true, let interface = verdict.interface else { continue }
                    flowLog.reject(interface: interface, flow: batch.refusedFlows[index], packet: UnsafeRawBufferPointer(batch.bytes(index)),
                                   time: batch.times[index])
                }
            }
            writeFlowLog(now: LiveNetwork.monotonic(), final: false)
            for index in 0..<batch.count {
                let verdict = batch.verdicts[index]
                guard let port = verdict.port else {
                    // A probe the fabric refused fails now, saying who refused it, not a timeout later.
                    if verdict.isDropped, batch.ingressPorts[index] == healthPort,
                       let change = checker.refused(batch.bytes(index), by: current.refuser(of: verdict) ?? "the fabric",
                                                    reason: verdict.dropReason) {
                        apply(change)
                    }
                    continue
                }
                let packet = batch.bytes(index)
                let device = self.device(for: outputs[port], verdict)
                // Out of a tunnel to a device that takes super-packets: merged with the segments
                // around it where they make one; anything else goes out after the run before it.
                if verdict.action == .decapsulated, let device, plumbing[device].device.offloads {
                    if coalescer.add(UnsafeRawBufferPointer(packet), writer: device) { continue }
                    coalescer.flush(writeMerged)
                    if coalescer.add(UnsafeRawBufferPointer(packet), writer: device) { continue }
                } else {
                    coalescer.flush(writeMerged)
                }
                switch verdict.action {
                case .dropped:
                    continue
                case .toResolver:
                    guard senders[index] >= 0, case .resolver(let vpc) = outputs[port],
                          let reply = resolver.answer(packet, vpc: vpc) else { continue }
                    reply.withUnsafeBytes { send($0, to: plumbing[senders[index]].device) }
                case .toHealthChecker:
                    if let change = checker.receive(packet, send: { probes.append($0) }) { apply(change) }
                case .encapsulated:
                    // Into a tunnel: the offloads the inner packet came with are done here.
                    guard let device else { continue }
                    let arrived = ledger.header(index)
                    if arrived.isSegmented {
                        let writer = plumbing[device].device
                        let count: Int
                        if udpSegmentationOffload && writer.offloads {
                            count = TunnelOffload.segmentForUDPOffload(packet, outerLength: GWLBTunnel.overhead, header: arrived,
                                                                       scratch: scratch, staging: staging) { datagram, offload in
                                guard var offload else { return send(datagram, to: writer) }
                                do throws(IOError) {
                                    let written = try withUnsafePointer(to: &offload) { header throws(IOError) in try writer.write(datagram, header: header) }
                                    if written { tunnelSuperDatagrams &+= 1 } else { queueFull &+= 1 }
                                } catch {
                                    // The kernel refused the offload: one datagram a write from
                                    // now on (these segments are lost; TCP sends them again).
                                    failed(error)
                                    udpSegmentationOffload = false
                                    log(.warning, "the kernel refused UDP segmentation offload on a GWLB tunnel (\(error)); one datagram a write from now on")
                                }
                            }
                        } else {
                            count = TunnelOffload.segment(packet, outerLength: GWLBTunnel.overhead, header: arrived,
                                                          scratch: scratch) { segment in
                                send(segment, to: writer)
                            }
                        }
                        tunnelSegmentations &+= 1
                        tunnelSegments &+= UInt64(count)
                        continue
                    }
                    if arrived.needsChecksum { TunnelOffload.completeChecksum(packet, outerLength: GWLBTunnel.overhead, header: arrived) }
                    send(UnsafeRawBufferPointer(packet), to: plumbing[device].device)
                case .replied, .decapsulated, .forwarded:
                    guard let device else {
                        unroutable &+= 1
                        continue
                    }
                    // A reply the dataplane wrote (a RST) is complete in itself, with no offload
                    // header; so is a packet out of a tunnel (the appliance sent it whole).
                    let header = verdict.action == .forwarded ? ledger.departing(index, packet: packet) : nil
                    send(UnsafeRawBufferPointer(packet), to: plumbing[device].device, header: header)
                }
            }
            coalescer.flush(writeMerged)
        }
    }

    /// The device a packet with this verdict leaves by: a VPC host's, or the outside host's the
    /// dataplane found beyond an outside network's port.
    @inline(__always)
    private func device(for output: Output, _ verdict: Verdict) -> Int? {
        switch output {
        case .device(let writer): return writer
        case .outside: return verdict.outsideHost.flatMap { plumbingOfOutsideHost[$0] }
        case .resolver, .healthChecks: return nil
        }
    }

    public static func monotonic() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
