import CLinux
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
        var host: Int
        var namespace: NetworkNamespace
        var device: TUNDevice
        /// The port of a VPC host; nil for a host outside every VPC (it sends on the gateway or
        /// service network its packets' destination calls for).
        var port: Int?
        var server: Process?
    }

    public let name: String
    public private(set) var topology: Topology
    public let dataplane: Dataplane
    var plumbing: [Plumbing] = []
    /// Per dataplane port, the plumbing index writing to it (VPC host ports).
    private var writerOfPort: [Int: Int] = [:]
    /// External hosts by address text.
    private var externalByAddress: [String: Int] = [:]
    private let lock = NSLock()
    private var pendingTables: ForwardingTables?
    private var running = true
    private var thread: Thread?
    public private(set) var forwarded: UInt64 = 0

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// `name` names the namespaces (`privet-NAME-HOST`) and TUN devices; it comes from the
    /// topology file's name.
    public init(topology: Topology, name: String, configuration: DataplaneConfiguration = DataplaneConfiguration()) {
        self.topology = topology
        self.name = name
        var configuration = configuration
        configuration.prefaultFlowTable = true
        dataplane = Dataplane(tables: topology.forwardingTables(), configuration: configuration)
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
    public func build(serverCommand: [String]) throws(Failure) {
        let namespaces = LiveNetwork.namespaces(of: topology, name: name)
        if let existing = namespaces.first(where: NetworkNamespace.exists) {
            throw Failure(description: "namespace \(existing) exists: topology '\(name)' is already up (or a crashed `up` left it; run `privet down`)")
        }
        do {
            for index in topology.hosts.indices {
                try makeHost(index, serverCommand: serverCommand)
            }
        } catch let error as Shell.Failure {
            teardown()
            throw Failure(description: error.description)
        } catch let error as TUNDevice.Failure {
            teardown()
            throw Failure(description: error.description)
        } catch {
            teardown()
            throw Failure(description: "\(error)")
        }
    }

    private func makeHost(_ index: Int, serverCommand: [String]) throws {
        let host = topology.hosts[index]
        let namespace = try NetworkNamespace.create(LiveNetwork.namespaceName(topology: name, host: host.name))
        let deviceName = LiveNetwork.deviceName(topology: name, host: index)
        let device = try TUNDevice(name: deviceName)
        try Shell.run(["ip", "link", "set", deviceName, "netns", namespace.name])
        // The VPC MTU (jumbo frames, 9001) on the host's side.
        try namespace.ip(["link", "set", deviceName, "mtu", "9001", "up"])
        var port: Int?
        var zone = ""
        switch host.placement {
        case .vpc(let interface):
            let eni = topology[interface]
            let subnet = topology[eni.subnet]
            zone = topology.zones[subnet.zone.index].name
            if let ipv4 = eni.ipv4, let cidr = subnet.cidr {
                try namespace.ip(["address", "add", "\(ipv4)/\(cidr.length)", "dev", deviceName])
                try namespace.ip(["route", "add", "default", "dev", deviceName])
            }
            if let ipv6 = eni.ipv6, let cidr = subnet.ipv6Cidr {
                try namespace.ip(["-6", "address", "add", "\(ipv6)/\(cidr.length)", "dev", deviceName, "nodad"])
                try namespace.ip(["-6", "route", "add", "default", "dev", deviceName])
            }
            try namespace.setResolver(topology[subnet.vpc].resolver.description)
            port = dataplane.tables.ports.firstIndex { $0.kind == .interface(interface.index) }
        case .external(let network, let ipv4, let ipv6):
            zone = network
            if let ipv4 {
                try namespace.ip(["address", "add", "\(ipv4)/32", "dev", deviceName])
                try namespace.ip(["route", "add", "default", "dev", deviceName])
                externalByAddress[ipv4.description] = plumbing.count
            }
            if let ipv6 {
                try namespace.ip(["-6", "address", "add", "\(ipv6)/128", "dev", deviceName, "nodad"])
                try namespace.ip(["-6", "route", "add", "default", "dev", deviceName])
                externalByAddress[ipv6.description] = plumbing.count
            }
        }
        var server: Process?
        if let built = host.server {
            server = try Shell.start(["ip", "netns", "exec", namespace.name] + serverCommand
                                     + ["serve", built.kind.rawValue, "--port", String(built.port), "--identity", "\(host.name) in \(zone)"])
        }
        if let port { writerOfPort[port] = plumbing.count }
        plumbing.append(Plumbing(host: index, namespace: namespace, device: device, port: port, server: server))
    }

    /// Stops the servers and removes every namespace (their devices go with them).
    public func teardown() {
        stop()
        for piece in plumbing {
            piece.server?.terminate()
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
                for pid in pids.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGTERM) }
            }
            NetworkNamespace(name: namespace).delete()
            removed.append(namespace)
        }
        return removed
    }

    // MARK: Forwarding

    /// Starts the forwarding thread.
    public func start() {
        running = true
        let thread = Thread { [self] in forwardingLoop() }
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

    /// Swaps in new tables between batches (SIGHUP reload).
    public func reload(_ topology: Topology) {
        lock.lock()
        pendingTables = topology.forwardingTables()
        self.topology = topology
        lock.unlock()
    }

    private func forwardingLoop() {
        let poller = epoll_create1(Int32(EPOLL_CLOEXEC))
        defer { close(poller) }
        for (index, piece) in plumbing.enumerated() {
            var event = epoll_event()
            event.events = EPOLLIN.rawValue
            event.data.u64 = UInt64(index)
            epoll_ctl(poller, EPOLL_CTL_ADD, piece.device.descriptor, &event)
        }
        let slot = 65536 + 128
        let pool = UnsafeMutableRawPointer.allocate(byteCount: PacketBatch.capacity * slot, alignment: 64)
        defer { pool.deallocate() }
        let batch = PacketBatch()
        var senders = [Int](repeating: 0, count: PacketBatch.capacity)
        var events = [epoll_event](repeating: epoll_event(), count: 64)
        while true {
            lock.lock()
            let keepGoing = running
            let newTables = pendingTables
            pendingTables = nil
            lock.unlock()
            guard keepGoing else { return }
            if let newTables { dataplane.replaceTables(newTables) }
            let ready = epoll_wait(poller, &events, Int32(events.count), 100)
            guard ready > 0 else { continue }
            batch.removeAll()
            for event in events[0..<Int(ready)] {
                let index = Int(event.data.u64)
                let piece = plumbing[index]
                // Up to 32 packets from one device at a time, so that no device starves the rest.
                var taken = 0
                while taken < 32 && !batch.isFull {
                    let start = pool + batch.count * slot + 128
                    guard let length = piece.device.read(into: UnsafeMutableRawBufferPointer(start: start, count: slot - 128)) else { break }
                    taken += 1
                    guard let port = piece.port ?? externalPort(start, length) else { continue }
                    senders[batch.count] = index
                    batch.append(start, length: length, capacity: slot - 128, ingressPort: port)
                }
            }
            guard batch.count > 0 else { continue }
            dataplane.process(batch, now: LiveNetwork.monotonic())
            for index in 0..<batch.count {
                guard let port = batch.verdicts[index].port else { continue }
                let bytes = UnsafeRawBufferPointer(batch.bytes(index))
                if let writer = writerOfPort[port] {
                    plumbing[writer].device.write(bytes)
                } else if let address = LiveNetwork.destination(bytes), let external = externalByAddress[address] {
                    plumbing[external].device.write(bytes)
                }
                forwarded &+= 1
            }
            _ = senders
        }
    }

    /// The port an outside host's packet enters by: its service network, or the internet gateway
    /// of the VPC that owns the destination.
    private func externalPort(_ start: UnsafeMutableRawPointer, _ length: Int) -> Int? {
        let bytes = UnsafeMutableRawBufferPointer(start: start, count: length)
        guard let addresses = Replay.addresses(bytes) else { return nil }
        let tables = dataplane.tables
        if addresses.source.isIPv4 {
            for (index, port) in tables.ports.enumerated() {
                if case .serviceNetwork(let list) = port.kind,
                   topology.prefixLists[list].cidrs.contains(where: { $0.contains(addresses.source.ipv4) }) {
                    return index
                }
            }
        }
        guard let interface = tables.interface(owning: addresses.destination) else { return nil }
        return tables.vpcs[tables.interfaces[interface].vpc].internetGatewayPort
    }

    static func destination(_ bytes: UnsafeRawBufferPointer) -> String? {
        guard let base = bytes.baseAddress else { return nil }
        return Replay.addresses(UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: base), count: bytes.count))
            .map { Replay.text($0.destination) }
    }

    static func monotonic() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
