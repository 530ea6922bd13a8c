import Dataplane
import Dispatch
import PacketWire
import Topology

/// A VPC Flow Logs file (AWS's header line first, then one record a line in the chosen format),
/// written alike by replay and by a live `up --flow-log`: the dataplane's ACCEPT records as they
/// come, and REJECT records made here from the packets the fabric refused, one per ENI, flow and
/// aggregation interval, as VPC Flow Logs aggregate them. The caller's thread only queues what
/// happened; the records are made and formatted on another thread, in the order they came
/// (`FlowLogFormatter`), so that a replay's main thread does not format them.
final class FlowLogWriter {
    private enum Operation {
        case record(FlowRecord)
        case reject(interface: Int, flow: FlowKey, length: Int, tcpFlags: UInt8, time: Int64)
        case writeRejects(endedBefore: Int64?)
        case use(Topology)
        case flush
    }

    private static let batchSize = 4096
    private var pending: [Operation] = []
    private let formatter: FlowLogFormatter
    private let queue = DispatchQueue(label: "privet.flow-log")

    init(path: String, format: FlowLogFormat, topology: Topology, interval: Int64, clockOffset: Int64 = 0)
        throws(ForwarderError) {
        formatter = try FlowLogFormatter(path: path, format: format, topology: topology, interval: interval, clockOffset: clockOffset)
        pending.reserveCapacity(FlowLogWriter.batchSize)
    }

    /// A record of the dataplane's (a session's interval).
    func write(_ record: FlowRecord) { add(.record(record)) }

    /// A packet refused at ENI `interface`, of `flow` as that ENI saw it, at `time`.
    func reject(interface: Int, flow: FlowKey, packet: UnsafeRawBufferPointer, time: Int64) {
        add(.reject(interface: interface, flow: flow, length: packet.count, tcpFlags: FlowLogTCPFlags.bits(ofIPPacket: packet), time: time))
    }

    /// The REJECT records of the intervals that ended before `time` (all of them when nil).
    func writeRejects(endedBefore time: Int64?) { add(.writeRejects(endedBefore: time)) }

    /// Names the ENIs as `topology` does, for what comes after.
    func use(_ topology: Topology) { add(.use(topology)) }

    /// What is queued, to the file (a live log is read while it grows).
    func flush() {
        pending.append(.flush)
        handOff()
    }

    /// Records written so far (waits for what is queued).
    var written: UInt64 {
        handOff()
        return queue.sync { formatter.written }
    }

    func close() throws(ForwarderError) {
        handOff()
        let result = queue.sync { () -> ForwarderError? in
            do throws(ForwarderError) { try formatter.close() } catch { return error }
            return nil
        }
        if let result { throw result }
    }

    private func add(_ operation: Operation) {
        pending.append(operation)
        if pending.count >= FlowLogWriter.batchSize { handOff() }
    }

    private func handOff() {
        guard !pending.isEmpty else { return }
        let operations = pending
        pending = []
        pending.reserveCapacity(FlowLogWriter.batchSize)
        let formatter = self.formatter
        queue.async {
            for operation in operations {
                switch operation {
                case .record(let record): formatter.write(record)
                case .reject(let interface, let flow, let length, let flags, let time):
                    formatter.reject(interface: interface, flow: flow, length: length, tcpFlags: flags, time: time)
                case .writeRejects(let time): formatter.writeRejects(endedBefore: time)
                case .use(let topology): formatter.use(topology)
                case .flush: formatter.flush()
                }
            }
        }
    }
}

/// The flow log's records made and formatted: on the flow log's own thread.
final class FlowLogFormatter: @unchecked Sendable {
    private struct RejectKey: Hashable {
        var interface: Int
        var sourceHigh: UInt64
        var sourceLow: UInt64
        var destinationHigh: UInt64
        var destinationLow: UInt64
        var ports: UInt32
        var proto: UInt8
        var interval: Int64
    }

    private struct Reject {
        var packets: UInt64
        var bytes: UInt64
        var start: Int64
        var end: Int64
        var tcpFlags: UInt8
    }

    /// What a record's fields say of its ENI, as bytes ready to write. A class: a record reads
    /// it through one reference, not a copy of six arrays.
    private final class InterfaceFields {
        let account: [UInt8]
        let id: [UInt8]
        let vpc: [UInt8]
        let subnet: [UInt8]
        /// `-` for an ENI no host owns (an endpoint's, a load balancer's: requester-managed).
        let instance: [UInt8]
        let zone: [UInt8]
        let ipv4: FlowAddress?
        let ipv6: FlowAddress?

        init(account: [UInt8], id: [UInt8], vpc: [UInt8], subnet: [UInt8], instance: [UInt8], zone: [UInt8],
             ipv4: FlowAddress?, ipv6: FlowAddress?) {
            self.account = account
            self.id = id
            self.vpc = vpc
            self.subnet = subnet
            self.instance = instance
            self.zone = zone
            self.ipv4 = ipv4
            self.ipv6 = ipv6
        }

        /// The ENI's own address for `srcaddr` of egress and `dstaddr` of ingress records: of the
        /// packet's family, else its primary private IPv4 address, as AWS writes them when the
        /// packet's address is not the ENI's (docs/aws-behaviour.md §10).
        func own(_ address: FlowAddress) -> FlowAddress { (address.isIPv4 ? ipv4 : ipv6) ?? ipv4 ?? address }

        func owns(_ address: FlowAddress) -> Bool { (address.isIPv4 ? ipv4 : ipv6) == address }
    }

    private let file: TextFile
    private let format: FlowLogFormat
    private let version: [UInt8]
    private let interval: Int64
    /// Added to the dataplane's times to give Unix time: 0 for a replay (a capture's times are
    /// Unix times), the wall clock's lead on the monotonic clock live.
    private let clockOffset: Int64
    private var region: [UInt8] = []
    private var interfaces: [InterfaceFields] = []
    /// The AWS services' address ranges (the gateway endpoints' prefix lists) and their names
    /// as `pkt-src-aws-service` gives them (`S3`, `DYNAMODB`).
    private var services: [(range: IPv4Prefix, name: [UInt8])] = []
    private var rejects: [RejectKey: Reject] = [:]
    /// The refused flows in the order they were first refused: the order their records take.
    private var rejectOrder: [RejectKey] = []
    /// Records written so far.
    private(set) var written: UInt64 = 0

    init(path: String, format: FlowLogFormat, topology: Topology, interval: Int64, clockOffset: Int64 = 0)
        throws(ForwarderError) {
        file = try TextFile(path: path)
        self.format = format
        version = Array(String(format.version).utf8)
        self.interval = interval
        self.clockOffset = clockOffset
        use(topology)
        file.write(format.header + "\n")
    }

    /// Names the ENIs as `topology` does (after a reload, the new one's).
    func use(_ topology: Topology) {
        region = Array(topology.region.utf8)
        interfaces = topology.networkInterfaces.indices.map { index in
            let eni = topology.networkInterfaces[index], subnet = topology[eni.subnet]
            return InterfaceFields(account: Array(topology[subnet.vpc].accountID.utf8), id: Array(eni.id.utf8),
                                   vpc: Array(topology[subnet.vpc].id.utf8), subnet: Array(subnet.id.utf8),
                                   instance: Array((topology.instanceID(of: index) ?? "-").utf8),
                                   zone: Array(topology[subnet.zone].id.utf8), ipv4: eni.ipv4.map(FlowAddress.init),
                                   ipv6: eni.ipv6.map(FlowAddress.init))
        }
        services = topology.prefixLists.flatMap { list in
            let name = Array((list.name.split(separator: ".").last.map(String.init) ?? list.name).uppercased().utf8)
            return list.cidrs.map { (range: $0, name: name) }
        }
    }

    /// A record of the dataplane's (a session's interval), at once.
    func write(_ record: FlowRecord) {
        let eni = interfaces[record.interface]
        let key = record.key
        let source = record.direction == .egress ? eni.own(key.source) : key.source
        let destination = record.direction == .ingress ? eni.own(key.destination) : key.destination
        for (index, field) in format.fields.enumerated() {
            if index > 0 { file.write(byte: 0x20) }
            switch field {
            case .version: file.write(bytes: version)
            case .accountID: file.write(bytes: eni.account)
            case .interfaceID: file.write(bytes: eni.id)
            case .sourceAddress: file.write(address: source)
            case .destinationAddress: file.write(address: destination)
            case .sourcePort: file.write(decimal: UInt64(key.sourcePort))
            case .destinationPort: file.write(decimal: UInt64(key.destinationPort))
            case .proto: file.write(decimal: UInt64(key.proto))
            case .packets: file.write(decimal: record.packets)
            case .bytes: file.write(decimal: record.bytes)
            case .start: file.write(decimal: (record.start &+ clockOffset) / 1_000_000_000)
            case .end: file.write(decimal: (record.end &+ clockOffset) / 1_000_000_000)
            case .action: file.write(bytes: record.accepted ? FlowLogFormatter.accept : FlowLogFormatter.reject)
            case .logStatus: file.write(bytes: FlowLogFormatter.ok)
            case .vpcID: file.write(bytes: eni.vpc)
            case .subnetID: file.write(bytes: eni.subnet)
            case .instanceID: file.write(bytes: eni.instance)
            case .tcpFlags: file.write(decimal: UInt64(record.tcpFlags))
            case .type: file.write(bytes: key.source.isIPv4 ? FlowLogFormatter.ipv4 : FlowLogFormatter.ipv6)
            case .packetSourceAddress: file.write(address: key.source)
            case .packetDestinationAddress: file.write(address: key.destination)
            case .region: file.write(bytes: region)
            case .zoneID: file.write(bytes: eni.zone)
            case .sublocationType, .sublocationID: file.write(byte: 0x2D)
            case .packetSourceService: writeService(of: key.source)
            case .packetDestinationService: writeService(of: key.destination)
            case .flowDirection: file.write(bytes: record.direction == .ingress ? FlowLogFormatter.ingress : FlowLogFormatter.egress)
            case .trafficPath:
                if record.trafficPath == .none { file.write(byte: 0x2D) } else { file.write(decimal: UInt64(record.trafficPath.rawValue)) }
            }
        }
        file.write(byte: 0x0A)
        written += 1
    }

    private static let accept = Array("ACCEPT".utf8), reject = Array("REJECT".utf8), ok = Array("OK".utf8)
    private static let ipv4 = Array("IPv4".utf8), ipv6 = Array("IPv6".utf8)
    private static let ingress = Array("ingress".utf8), egress = Array("egress".utf8)

    private func writeService(of address: FlowAddress) {
        if address.isIPv4, let service = services.first(where: { $0.range.contains(address.ipv4) }) {
            file.write(bytes: service.name)
        } else {
            file.write(byte: 0x2D)
        }
    }

    /// A packet of `length` bytes and these TCP flags (`FlowLogTCPFlags` bits) refused at ENI
    /// `interface`, of `flow` as that ENI saw it, at `time`.
    func reject(interface: Int, flow: FlowKey, length: Int, tcpFlags flags: UInt8, time: Int64) {
        let key = RejectKey(interface: interface, sourceHigh: flow.sourceHigh, sourceLow: flow.sourceLow,
                            destinationHigh: flow.destinationHigh, destinationLow: flow.destinationLow,
                            ports: UInt32(flow.sourcePort) << 16 | UInt32(flow.destinationPort), proto: flow.proto,
                            interval: time / interval)
        if var entry = rejects[key] {
            entry.packets += 1
            entry.bytes += UInt64(length)
            entry.end = time
            entry.tcpFlags |= flags
            rejects[key] = entry
        } else {
            rejects[key] = Reject(packets: 1, bytes: UInt64(length), start: time, end: time, tcpFlags: flags)
            rejectOrder.append(key)
        }
    }

    /// Writes the REJECT records of the intervals that ended before `time` (all of them when
    /// nil, at the end), in the order their flows were first refused.
    func writeRejects(endedBefore time: Int64?) {
        var kept: [RejectKey] = []
        for key in rejectOrder {
            guard let entry = rejects[key] else { continue }
            if let time, (key.interval + 1) * interval > time {
                kept.append(key)
                continue
            }
            let flow = FlowKey(source: IPv6Address(high: key.sourceHigh, low: key.sourceLow),
                               destination: IPv6Address(high: key.destinationHigh, low: key.destinationLow),
                               sourcePort: UInt16(key.ports >> 16), destinationPort: UInt16(key.ports & 0xFFFF),
                               proto: IPProtocol(rawValue: key.proto))
            // Refused on the way out of the ENI when it sent the packet (its egress rules),
            // else on the way in.
            // (A refused packet left by no path: its traffic-path is `-`.)
            let direction: FlowRecord.Direction = interfaces[key.interface].owns(flow.source) ? .egress : .ingress
            write(FlowRecord(interface: key.interface, key: flow, packets: entry.packets, bytes: entry.bytes,
                             start: entry.start, end: entry.end, accepted: false, direction: direction,
                             tcpFlags: FlowLogTCPFlags.value(entry.tcpFlags),
                             trafficPath: .none))
            rejects[key] = nil
        }
        rejectOrder = kept
    }

    /// What is buffered, to the file (a live log is read while it grows).
    func flush() { file.flush() }

    func close() throws(ForwarderError) { try file.close() }
}
