import Dataplane
import Foundation
import PacketIO
import PacketWire
import Topology

/// `privet replay`: a capture goes in, the dataplane runs on it with the capture's own clock, and
/// what every port sent comes out as captures, with the dropped packets, a flow log and a report.
/// The same inputs give the same files, byte for byte.
public final class Replay {
    public struct Options: Sendable {
        public var input: String
        public var output: String
        public var events: [ReplayEvent] = []
        public var configuration = DataplaneConfiguration()
        /// Called now and then with the fraction of the capture read (a progress bar).
        public var progress: (@Sendable (Double) -> Void)?
        /// Each port's capture holds what entered by it too, as tcpdump on an interface shows
        /// both directions: a packet as it was sent, then what left for that port after it.
        public var bothDirections = false
        /// The flow log's fields.
        public var flowLogFormat = FlowLogFormat.default
        /// Workers, as `up --workers` has them: each a dataplane owning a shard of the flows
        /// (Sharding.swift), so a capture of a live run replays as that run forwarded it (the
        /// same NAT ports). The same inputs and count give the same files, however the shards
        /// are run.
        public var workers = 1
        /// Each worker's shard of a batch on a thread of its own (the default), or all of them
        /// one after another on the calling thread: the same files either way.
        public var shardsOnThreads = true

        public init(input: String, output: String) {
            self.input = input
            self.output = output
        }
    }


    /// Bytes of room before each packet and the largest packet a slot takes.
    static let headroom = 128
    static let slotSize = 16384

    private var topology: Topology
    private let options: Options
    /// One per worker; the first's tables are every worker's.
    private let dataplanes: [Dataplane]
    private var dataplane: Dataplane { dataplanes[0] }
    /// With several workers: the packets of the batch each one owns, in capture order, and for
    /// each packet of the batch its worker and its place there.
    private let shardBatches: [PacketBatch]
    private var shardOf = [Int](repeating: 0, count: PacketBatch.capacity)
    private var placeInShard = [Int](repeating: 0, count: PacketBatch.capacity)
    /// Threads running workers 1 and up (worker 0's shard runs on the calling thread).
    private var shardThreads: [ShardThread] = []
    private let batch = PacketBatch()
    private let pool: UnsafeMutableRawPointer
    /// With `bothDirections`: each packet of the batch as it entered, before the dataplane
    /// rewrote it in place.
    private var entered: UnsafeMutableRawPointer?
    private var enteredLengths = [Int](repeating: 0, count: PacketBatch.capacity)
    /// Capture packet numbers of the packets in the batch.
    private var numbers = [Int](repeating: 0, count: PacketBatch.capacity)
    /// A capture per egress port, opened at its first packet.
    private var writers: [CaptureWriter?]
    /// Account and ENI ID of every interface, as bytes for the flow log.
    private let dropped: CaptureWriter
    private let droppedCSV: TextFile
    private let flowLog: FlowLogWriter
    private var report = ReplayReport()
    /// The VPC resolvers, answering the queries sent to them as live mode does.
    private var resolver: VPCResolver
    private var dataplaneTime: Double = 0
    private var eventIndex = 0
    private var firstTime: Int64?
    /// Malformed packets dropped before the dataplane (no port to enter by).
    private var malformedUnadmitted: UInt64 = 0
    /// The first output capture that could not be made: the replay fails with it at the end,
    /// rather than leave a port's packets out unsaid.
    private var outputError: String?
    /// A few of the address pairs no ENI, gateway or service owns (`report.unattributed`), for
    /// the warning when most of a capture is such.
    public private(set) var unattributedExamples: [String] = []


    public init(topology: Topology, options: Options) throws(ForwarderError) {
        self.topology = topology
        self.options = options
        precondition(options.workers >= 1)
        let tables = topology.forwardingTables()
        dataplanes = (0..<options.workers).map { index in
            Dataplane(tables: tables, configuration: options.configuration.forWorker(index, of: options.workers))
        }
        shardBatches = options.workers > 1 ? (0..<options.workers).map { _ in PacketBatch() } : []
        if options.workers > 1 && options.shardsOnThreads {
            shardThreads = dataplanes.dropFirst().map { ShardThread(dataplane: $0) }
        }
        resolver = VPCResolver(topology)
        writers = [CaptureWriter?](repeating: nil, count: tables.ports.count)
        pool = .allocate(byteCount: PacketBatch.capacity * Replay.slotSize, alignment: 64)
        if options.bothDirections { entered = .allocate(byteCount: PacketBatch.capacity * Replay.slotSize, alignment: 64) }
        do {
            try FileManager.default.createDirectory(atPath: options.output, withIntermediateDirectories: true)
        } catch {
            throw ForwarderError(description: "\(options.output): cannot create the output folder: \(error.localizedDescription)")
        }
        do {
            dropped = try CaptureWriter(path: options.output + "/dropped.pcap", linkType: .rawIP)
            droppedCSV = try TextFile(path: options.output + "/dropped.csv")
            flowLog = try FlowLogWriter(path: options.output + "/flow-log.txt", format: options.flowLogFormat, topology: topology,
                                        interval: options.configuration.flowLogInterval)
        } catch let error as CustomStringConvertible {
            throw ForwarderError(description: error.description)
        } catch {
            throw ForwarderError(description: "\(error)")
        }
        droppedCSV.write("packet,time,ingress,reason,source,destination,protocol,source_port,destination_port,length,interface,refused_by\n")
    }

    deinit {
        for thread in shardThreads { thread.stop() }
        pool.deallocate()
        entered?.deallocate()
    }

    /// Runs the whole capture; returns the report and how fast it went. A capture that cannot be
    /// read to its end is replayed up to the damage, and the report says where it stopped.
    public func run() throws(ForwarderError) -> (ReplayReport, ReplayTiming) {
        let started = Replay.monotonic()
        let reader: CaptureReader
        do { reader = try CaptureReader(path: options.input) } catch { throw ForwarderError(error) }
        var lastTime: Int64 = 0
        do {
            while let packet = try reader.next() {
                guard let time = packet.time.nanosecondsSinceEpoch else {
                    throw IOError.corrupt(path: options.input, packetNumber: packet.number,
                                               reason: "timestamp \(packet.time) is past 2262-04-11, where replay's nanosecond clock ends")
                }
                if firstTime == nil { firstTime = time }
                lastTime = time
                try applyEvents(upTo: time)
                admit(packet, time: time, linkType: reader.linkType)
                if batch.isFull { flush() }
                if packet.number % 65536 == 0 { options.progress?(reader.progress) }
            }
        } catch let error as IOError {
            report.captureError = error.description
        } catch let error as ForwarderError {
            throw error
        } catch {
            throw ForwarderError(description: "\(error)")
        }
        flush()
        // The flows still open at the end of the capture log their last interval.
        var closing: UInt64 = 0
        for dataplane in dataplanes {
            dataplane.endAllSessions(now: lastTime) { record in
                writeFlowRecord(record)
                closing += 1
            }
        }
        report.flowRecords += closing
        let before = flowLog.written
        flowLog.writeRejects(endedBefore: nil)
        report.flowRecords += flowLog.written - before
        try finishFiles()
        summarise()
        let seconds = Replay.monotonic() - started
        let timing = ReplayTiming(seconds: seconds, dataplaneSeconds: dataplaneTime,
                                  packetsPerSecond: seconds > 0 ? Double(report.input.packets) / seconds : 0)
        return (report, timing)
    }

    // MARK: Input

    /// Strips the link layer, finds the ingress port, and puts the packet in the batch.
    private func admit(_ packet: CapturedPacket, time: Int64, linkType: LinkType) {
        report.input.packets += 1
        report.input.bytes += UInt64(packet.bytes.count)
        let slot = pool + batch.count * Replay.slotSize
        let room = Replay.slotSize - Replay.headroom
        let copied = min(packet.bytes.count, room)
        (slot + Replay.headroom).copyMemory(from: packet.bytes.baseAddress!, byteCount: copied)
        let frame = UnsafeMutableRawBufferPointer(start: slot + Replay.headroom, count: copied)
        // A frame or IP header that cannot be read is a malformed packet, dropped and counted as
        // the dataplane counts one (so `inspect` and `replay` agree); it enters by no port.
        guard let link = try? LinkFrame(linkType, frame) else {
            dropUnadmitted(frame, number: packet.number, time: time)
            return
        }
        guard link.etherType == .ipv4 || link.etherType == .ipv6 else {
            report.notIP += 1
            return
        }
        let start = slot + Replay.headroom + link.networkOffset
        let length = copied - link.networkOffset
        let bytes = UnsafeMutableRawBufferPointer(start: start, count: length)
        guard let addresses = FlowAddress.addresses(ofPacket: bytes) else {
            dropUnadmitted(bytes, number: packet.number, time: time)
            return
        }
        guard let port = dataplane.tables.ingressPort(source: addresses.source, destination: addresses.destination) else {
            // Attributed or not, a packet that does not dissect is malformed first.
            if (try? PacketDissection(etherType: link.etherType, bytes: bytes)) == nil {
                dropUnadmitted(bytes, number: packet.number, time: time)
            } else {
                report.unattributed += 1
                if unattributedExamples.count < 5 {
                    let example = "\(addresses.source) → \(addresses.destination)"
                    if !unattributedExamples.contains(example) { unattributedExamples.append(example) }
                }
            }
            return
        }
        // A capture on a device with offloads holds checksums the sender's kernel left partial for
        // the device to finish; finished here, as the live device would, they leave valid.
        if PartialChecksum.complete(bytes) { report.partialChecksumsCompleted += 1 }
        numbers[batch.count] = packet.number
        batch.append(start, length: length, capacity: Replay.slotSize - Replay.headroom - link.networkOffset,
                     ingressPort: port, time: time, headroom: Replay.headroom + link.networkOffset)
    }

    // MARK: Batches

    private func flush() {
        guard batch.count > 0 else { return }
        if let entered {
            for index in 0..<batch.count {
                (entered + index * Replay.slotSize).copyMemory(from: batch.packets[index], byteCount: batch.lengths[index])
                enteredLengths[index] = batch.lengths[index]
            }
        }
        let started = Replay.monotonic()
        process()
        dataplaneTime += Replay.monotonic() - started
        let sharded = !shardBatches.isEmpty
        for index in 0..<batch.count {
            // Where the packet was decided: the batch itself, or its worker's share of it.
            let batch = sharded ? shardBatches[shardOf[index]] : self.batch, place = sharded ? placeInShard[index] : index
            let bytes = UnsafeRawBufferPointer(batch.bytes(place))
            let time = batch.times[place]
            if let entered {
                writer(for: batch.ingressPorts[place])?.write(
                    UnsafeRawBufferPointer(start: entered + index * Replay.slotSize, count: enteredLengths[index]), timestampNanoseconds: time)
            }
            let verdict = batch.verdicts[place]
            switch verdict.action {
            case .dropped:
                report.dropped.packets += 1
                report.dropped.bytes += UInt64(bytes.count)
                dropped.write(bytes, timestampNanoseconds: time)
                recordDrop(number: numbers[index], ingress: dataplane.tables.ports[batch.ingressPorts[place]].name,
                           verdict: verdict, refusedFlow: verdict.interface != nil ? batch.refusedFlows[place] : nil,
                           bytes: batch.bytes(place), time: time)
            case .toResolver:
                report.forwarded.packets += 1
                report.forwarded.bytes += UInt64(bytes.count)
                // The resolver answers from the VPC's view, back to the querying port, at the
                // query's time.
                guard let port = verdict.port, case .resolver(let vpc) = dataplane.tables.ports[port].kind,
                      let reply = resolver.answer(batch.bytes(place), vpc: vpc) else { continue }
                reply.withUnsafeBytes { writer(for: batch.ingressPorts[place])?.write($0, timestampNanoseconds: time) }
            case .forwarded, .encapsulated, .decapsulated, .replied, .toHealthChecker:
                report.forwarded.packets += 1
                report.forwarded.bytes += UInt64(bytes.count)
                if let port = verdict.port { writer(for: port)?.write(bytes, timestampNanoseconds: time) }
            }
        }
        batch.removeAll()
        for shard in shardBatches { shard.removeAll() }
        drainFlowRecords()
    }

    /// The dataplane over the batch: as it is with one worker; with several, each packet to the
    /// worker owning its flow, in capture order, and the workers' shares decided at once.
    private func process() {
        guard !shardBatches.isEmpty else { return dataplane.process(batch) }
        for index in 0..<batch.count {
            let shard = Shard.owner(of: UnsafeRawBufferPointer(batch.bytes(index)), workers: shardBatches.count)
            let into = shardBatches[shard]
            shardOf[index] = shard
            placeInShard[index] = into.count
            into.append(batch.packets[index], length: batch.lengths[index], capacity: batch.capacities[index],
                        ingressPort: batch.ingressPorts[index], time: batch.times[index], headroom: batch.headrooms[index])
        }
        if shardThreads.isEmpty {
            for (dataplane, shard) in zip(dataplanes, shardBatches) { dataplane.process(shard) }
        } else {
            for (thread, shard) in zip(shardThreads, shardBatches.dropFirst()) { thread.start(shard) }
            dataplane.process(shardBatches[0])
            for thread in shardThreads { thread.wait() }
        }
    }

    private func writer(for port: Int) -> CaptureWriter? {
        if port < writers.count, let writer = writers[port] { return writer }
        if port >= writers.count { writers += [CaptureWriter?](repeating: nil, count: port + 1 - writers.count) }
        let name = dataplane.tables.ports[port].name.map { $0 == "/" ? "_" : $0 }
        let path = options.output + "/" + String(name) + ".pcap"
        do {
            let writer = try CaptureWriter(path: path, linkType: .rawIP)
            writers[port] = writer
            return writer
        } catch {
            if outputError == nil { outputError = "\(error)" }
            return nil
        }
    }

    private func writeFlowRecord(_ record: FlowRecord) {
        flowLog.write(record)
    }

    /// A packet malformed before it could enter by a port: dropped, with no port named, after
    /// the packets before it (the files keep capture order).
    private func dropUnadmitted(_ bytes: UnsafeMutableRawBufferPointer, number: Int, time: Int64) {
        flush()
        malformedUnadmitted += 1
        report.dropped.packets += 1
        report.dropped.bytes += UInt64(bytes.count)
        dropped.write(UnsafeRawBufferPointer(bytes), timestampNanoseconds: time)
        recordDrop(number: number, ingress: "", verdict: .dropped(.malformed), refusedFlow: nil, bytes: bytes, time: time)
    }

    /// A dropped packet's line in dropped.csv, with the ENI that refused it and who there (its
    /// security groups, a route table, an endpoint's state); a refusal by the fabric's rules is
    /// also a REJECT record in the flow log of that ENI, of the flow as the ENI saw it
    /// (`refusedFlow`, from the dataplane), as VPC Flow Logs record it.
    private func recordDrop(number: Int, ingress port: String, verdict: Verdict, refusedFlow: FlowKey?,
                            bytes: UnsafeMutableRawBufferPointer, time: Int64) {
        let reason = verdict.dropReason ?? .malformed
        // Read only: the packet is written as it is.
        let key = Replay.flowKey(bytes)
        droppedCSV.write(decimal: UInt64(number))
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(time: time)
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(csvField: port)
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(reason.name)
        droppedCSV.write(byte: 0x2C)
        if let key {
            droppedCSV.write(address: key.source)
            droppedCSV.write(byte: 0x2C)
            droppedCSV.write(address: key.destination)
        } else {
            droppedCSV.write(byte: 0x2C)
        }
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(decimal: UInt64(key?.proto ?? 0))
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(decimal: UInt64(key?.sourcePort ?? 0))
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(decimal: UInt64(key?.destinationPort ?? 0))
        droppedCSV.write(byte: 0x2C)
        droppedCSV.write(decimal: UInt64(bytes.count))
        droppedCSV.write(byte: 0x2C)
        if let interface = verdict.interface { droppedCSV.write(dataplane.tables.interfaces[interface].id) }
        droppedCSV.write(byte: 0x2C)
        if let refuser = refuser(of: verdict) { droppedCSV.write(csvField: refuser) }
        droppedCSV.write(byte: 0x0A)
        guard reason.isReject, let interface = verdict.interface, let key = refusedFlow else { return }
        flowLog.reject(interface: interface, flow: key, packet: UnsafeRawBufferPointer(bytes), time: time)
    }

    /// Who refused, by the verdict's reason, route table and ENI: made once for each, since a
    /// capture's drops repeat a few refusals many times.
    private struct RefusalKey: Hashable {
        var reason: UInt16
        var table: Int?
        var interface: Int?
    }
    private var refusers: [RefusalKey: String?] = [:]

    private func refuser(of verdict: Verdict) -> String? {
        let key = RefusalKey(reason: verdict.dropReason?.rawValue ?? 0, table: verdict.routeTable, interface: verdict.interface)
        if let known = refusers[key] { return known }
        let refuser = topology.refuser(of: verdict)
        refusers[key] = refuser
        return refuser
    }

    static func flowKey(_ bytes: UnsafeMutableRawBufferPointer) -> FlowKey? {
        guard let dissection = try? PacketDissection(etherType: bytes.first.map { $0 >> 4 == 6 } == true ? .ipv6 : .ipv4,
                                                     bytes: bytes) else { return nil }
        var ports: (UInt16, UInt16) = (0, 0)
        switch dissection.transport {
        case .tcp(let tcp): ports = (tcp.sourcePort, tcp.destinationPort)
        case .udp(let udp): ports = (udp.sourcePort, udp.destinationPort)
        default: break
        }
        switch dissection.network {
        case .ipv4(let ip):
            return FlowKey(source: ip.source, destination: ip.destination, sourcePort: ports.0, destinationPort: ports.1, proto: ip.protocol)
        case .ipv6(let ip):
            return FlowKey(source: ip.source, destination: ip.destination, sourcePort: ports.0, destinationPort: ports.1,
                           proto: ip.upperLayerProtocol)
        case .other:
            return nil
        }
    }

    private func drainFlowRecords() {
        var count: UInt64 = 0
        for dataplane in dataplanes {
            dataplane.flowRecords.drain { record in
                writeFlowRecord(record)
                count += 1
            }
        }
        report.flowRecords += count
    }

    // MARK: Events

    private func applyEvents(upTo time: Int64) throws(ForwarderError) {
        guard let first = firstTime else { return }
        while eventIndex < options.events.count, first + options.events[eventIndex].time <= time {
            flush()
            try apply(options.events[eventIndex])
            eventIndex += 1
            report.events += 1
        }
    }

    private func apply(_ event: ReplayEvent) throws(ForwarderError) {
        let tables = dataplane.tables
        switch event.action {
        case .endpointAccepted, .endpointRejected:
            guard let index = topology.endpoints.firstIndex(where: { $0.name == event.subject }) else { return }
            for dataplane in dataplanes { dataplane.setEndpointState(index, event.action == .endpointAccepted ? .available : .rejected) }
        case .targetHealthy, .targetUnhealthy:
            guard let (group, host, port) = event.target else { return }
            for (index, target) in tables.targets.enumerated()
            where tables.targetGroups[target.targetGroup].name == group && target.name.hasPrefix(host + ":")
                && (port == nil || target.port == port) {
                for dataplane in dataplanes { dataplane.setTargetHealth(index, healthy: event.action == .targetHealthy) }
            }
        case .targetRegistered, .targetDeregistered:
            guard let (groupName, hostName, port) = event.target,
                  let group = topology.targetGroups.firstIndex(where: { $0.name == groupName }),
                  let host = topology.hosts.firstIndex(where: { $0.name == hostName }),
                  case .vpc(let interface) = topology.hosts[host].placement else { return }
            let targetPort = port ?? topology.targetGroups[group].port
            if event.action == .targetRegistered {
                guard !topology.targetGroups[group].targets.contains(where: { $0.host.index == host && $0.port == targetPort }) else { return }
                let zone = topology[topology[interface].subnet].zone
                topology.targetGroups[group].targets.append(
                    TargetGroup.Target(host: Ref(host), interface: interface, port: targetPort, zone: zone))
            } else {
                topology.targetGroups[group].targets.removeAll { $0.host.index == host && $0.port == targetPort }
            }
            // Endpoint states set by events survive the reload.
            let states = dataplane.endpointStates
            let tables = topology.forwardingTables()
            for dataplane in dataplanes {
                dataplane.replaceTables(tables)
                for (index, state) in states.enumerated() { dataplane.setEndpointState(index, state) }
            }
            refusers.removeAll()
            resolver = VPCResolver(topology)
        }
    }

    // MARK: The end

    private func finishFiles() throws(ForwarderError) {
        do {
            for writer in writers { try writer?.close() }
            try dropped.close()
            try droppedCSV.close()
            try flowLog.close()
        } catch let error as CustomStringConvertible {
            throw ForwarderError(description: error.description)
        } catch {
            throw ForwarderError(description: "\(error)")
        }
        if let outputError { throw ForwarderError(description: outputError + " (the other outputs are written)") }
    }

    private func summarise() {
        let counters = Counters.sum(dataplanes.map(\.counters))
        let tables = dataplane.tables
        for reason in DropReason.allCases where counters.drops(reason) > 0 { report.drops[reason.name] = counters.drops(reason) }
        if malformedUnadmitted > 0 { report.drops[DropReason.malformed.name, default: 0] += malformedUnadmitted }
        for cause in ResetCause.allCases where counters.resets(cause) > 0 { report.resetsSent[cause.name] = counters.resets(cause) }
        report.sessions = ["created": counters.sessionsCreated, "expired": counters.sessionsExpired, "closed": counters.sessionsClosed,
                           "evicted": counters.sessionsEvicted]
        report.ports = tables.ports.enumerated().map { index, port in
            let counts = counters.ports[index]
            return ReplayReport.PortLine(port: port.name,
                                         received: ReplayReport.Traffic(packets: counts.packetsIn, bytes: counts.bytesIn),
                                         sent: ReplayReport.Traffic(packets: counts.packetsOut, bytes: counts.bytesOut))
        }
        report.endpoints = topology.endpoints.enumerated().compactMap { index, endpoint in
            let counts = counters.endpoints[index]
            return counts.packets == 0 ? nil : ReplayReport.EndpointLine(endpoint: endpoint.name, flows: counts.flows,
                                                                         packets: counts.packets, bytes: counts.bytes)
        }
        var node = 0
        for balancer in tables.loadBalancers {
            for balancerNode in balancer.nodes {
                report.loadBalancerNodes.append(ReplayReport.NodeLine(loadBalancer: balancer.name, zone: tables.zoneNames[balancerNode.zone],
                                                                      flows: counters.nodes[node].flows))
                node += 1
            }
        }
        for (index, target) in tables.targets.enumerated() {
            let counts = counters.targets[index]
            let zone = tables.zoneNames[target.zone]
            report.targets.append(ReplayReport.TargetLine(targetGroup: tables.targetGroups[target.targetGroup].name, target: target.name,
                                                          zone: zone, flows: counts.flows, packets: counts.packets, bytes: counts.bytes))
            report.flowsByTargetZone[zone, default: 0] += counts.flows
        }
        report.flowRecordsLost = dataplanes.reduce(0) { $0 + $1.flowRecords.lost }
        report.resolver = ReplayReport.ResolverLine(answered: resolver.answered, malformed: resolver.malformed)
    }

    static func monotonic() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }
}

/// A thread that runs one worker's share of each batch of a replay: made once, woken per batch.
private final class ShardThread: @unchecked Sendable {
    private let dataplane: Dataplane
    private let go = DispatchSemaphore(value: 0), done = DispatchSemaphore(value: 0)
    private var batch: PacketBatch?

    init(dataplane: Dataplane) {
        self.dataplane = dataplane
        let thread = Thread { [self] in
            while true {
                go.wait()
                guard let batch else { return }
                self.dataplane.process(batch)
                done.signal()
            }
        }
        thread.name = "privet-replay-worker"
        thread.start()
    }

    func start(_ batch: PacketBatch) {
        self.batch = batch
        go.signal()
    }

    func wait() { done.wait() }

    /// Ends the thread (after its last batch).
    func stop() {
        batch = nil
        go.signal()
    }
}
