import Testing
import Dataplane
import PacketWire
import Topology

/// A topology compiled into a dataplane, with helpers to send packets from hosts and read what
/// comes out. Times are seconds from zero, given as nanoseconds to the dataplane.
final class Harness {
    let topology: Topology
    let tables: ForwardingTables
    let dataplane: Dataplane
    let batch = PacketBatch()
    private var storage = [UInt8](repeating: 0, count: 16384)

    init(yaml: String = Topology.defaultYAML, configure: (inout DataplaneConfiguration) -> Void = { _ in },
         sourceLocation: Testing.SourceLocation = #_sourceLocation) {
        let load = Topology.load(yaml: yaml)
        #expect(load.errors.isEmpty, "\(load.errors)", sourceLocation: sourceLocation)
        topology = load.topology!
        tables = topology.forwardingTables()
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = 1024
        configure(&configuration)
        dataplane = Dataplane(tables: tables, configuration: configuration)
    }

    // MARK: Names

    func port(_ name: String) -> Int {
        guard let port = tables.ports.firstIndex(where: { $0.name == name }) else { fatalError("no port \(name)") }
        return port
    }

    func host(_ name: String) -> NetworkInterface {
        guard let host = topology.hosts.first(where: { $0.name == name }), case .vpc(let eni) = host.placement else {
            fatalError("no VPC host \(name)")
        }
        return topology[eni]
    }

    func ipv4(_ name: String) -> IPv4Address { host(name).ipv4! }
    func ipv6(_ name: String) -> IPv6Address { host(name).ipv6! }

    func endpointENI(_ endpoint: String, zone: String) -> NetworkInterface {
        let model = topology.endpoints.first { $0.name == endpoint }!
        return model.interfaces.map { topology[$0] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    func nodeENI(_ balancer: String, zone: String) -> NetworkInterface {
        let model = topology.loadBalancers.first { $0.name == balancer }!
        return model.nodes.map { topology[$0.interface] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    func target(_ name: String) -> Int { tables.targets.firstIndex { $0.name == name }! }

    // MARK: Sending

    /// What came out of one packet.
    struct Outcome {
        let verdict: Verdict
        let bytes: [UInt8]
        var port: Int? { verdict.port }
        var drop: DropReason? { verdict.dropReason }
    }

    /// Runs one packet through the dataplane at `time` seconds, with `headroom` bytes free in
    /// front of it (for encapsulation; with none, the dataplane moves the packet up instead).
    @discardableResult
    func send(_ packet: [UInt8], from port: Int, at time: Double = 0, headroom: Int = 128,
              segmentLength: Int = 0) -> Outcome {
        storage.replaceSubrange(headroom..<headroom + packet.count, with: packet)
        return storage.withUnsafeMutableBytes { buffer in
            batch.removeAll()
            batch.append(buffer.baseAddress! + headroom, length: packet.count, capacity: buffer.count - headroom, ingressPort: port,
                         segmentLength: segmentLength, headroom: headroom)
            dataplane.process(batch, now: Int64(time * 1e9))
            let out = UnsafeMutableRawBufferPointer(start: batch.packets[0], count: batch.lengths[0])
            return Outcome(verdict: batch.verdicts[0], bytes: Array(out))
        }
    }

    // MARK: Packets

    static func tcp(_ source: IPv4Address, _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
                    _ flags: TCPFlags, seq: UInt32 = 1000, ack: UInt32 = 0, mss: UInt16? = nil, payload: Int = 0) -> [UInt8] {
        PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination),
                                 segment(sourcePort, destinationPort, flags, seq: seq, ack: ack, mss: mss),
                                 payload: [UInt8](repeating: 0x61, count: payload))
    }

    static func tcp6(_ source: IPv6Address, _ sourcePort: UInt16, _ destination: IPv6Address, _ destinationPort: UInt16,
                     _ flags: TCPFlags, seq: UInt32 = 1000, ack: UInt32 = 0, mss: UInt16? = nil, payload: Int = 0) -> [UInt8] {
        PacketBuilder.ipv6Packet(IPv6Fields(source: source, destination: destination),
                                 segment(sourcePort, destinationPort, flags, seq: seq, ack: ack, mss: mss),
                                 payload: [UInt8](repeating: 0x62, count: payload))
    }

    private static func segment(_ sourcePort: UInt16, _ destinationPort: UInt16, _ flags: TCPFlags, seq: UInt32, ack: UInt32,
                                mss: UInt16?) -> TransportFields {
        var fields = TCPFields(sourcePort: sourcePort, destinationPort: destinationPort, flags: flags)
        fields.sequenceNumber = seq
        fields.acknowledgmentNumber = ack
        fields.maximumSegmentSize = mss
        return .tcp(fields)
    }

    static func udp(_ source: IPv4Address, _ sourcePort: UInt16, _ destination: IPv4Address, _ destinationPort: UInt16,
                    payload: Int = 8) -> [UInt8] {
        PacketBuilder.ipv4Packet(IPv4Fields(source: source, destination: destination),
                                 .udp(UDPFields(sourcePort: sourcePort, destinationPort: destinationPort)),
                                 payload: [UInt8](repeating: 0x63, count: payload))
    }
}

/// A packet read back: addresses, ports, flags, and whether every checksum verifies against a
/// full recompute.
struct Seen {
    var source = ""
    var destination = ""
    var sourcePort: UInt16 = 0
    var destinationPort: UInt16 = 0
    var flags = TCPFlags()
    var sequence: UInt32 = 0
    var acknowledgment: UInt32 = 0
    var mss: UInt16?
    var checksumsValid = false
    var payload = 0

    init(_ bytes: [UInt8]) {
        var copy = bytes
        copy.withUnsafeMutableBytes { buffer in
            guard let packet = try? PacketDissection(etherType: bytes.first.map { $0 >> 4 == 6 } == true ? .ipv6 : .ipv4,
                                                     bytes: buffer) else { return }
            var pseudo: UInt32 = 0
            var headerValid = true
            switch packet.network {
            case .ipv4(let ip):
                source = ip.source.description
                destination = ip.destination.description
                pseudo = ip.pseudoHeaderSum
                headerValid = ip.headerChecksumIsValid
            case .ipv6(let ip):
                source = ip.source.description
                destination = ip.destination.description
                pseudo = ip.pseudoHeaderSum
            case .other:
                return
            }
            switch packet.transport {
            case .tcp(let tcp):
                sourcePort = tcp.sourcePort
                destinationPort = tcp.destinationPort
                flags = tcp.flags
                sequence = tcp.sequenceNumber
                acknowledgment = tcp.acknowledgmentNumber
                payload = tcp.payload.count
                for option in tcp.options { if case .maximumSegmentSize(let value) = option { mss = value } }
                checksumsValid = headerValid && tcp.checksumIsValid(pseudoHeaderSum: pseudo)
            case .udp(let udp):
                sourcePort = udp.sourcePort
                destinationPort = udp.destinationPort
                checksumsValid = headerValid && udp.checksumIsValid(pseudoHeaderSum: pseudo, ipv4: bytes.first! >> 4 == 4)
            case .icmpv4(let icmp):
                checksumsValid = headerValid && icmp.checksumIsValid
            case .icmpv6(let icmp):
                checksumsValid = icmp.checksumIsValid(pseudoHeaderSum: pseudo)
            default:
                checksumsValid = headerValid
            }
        }
    }
}
