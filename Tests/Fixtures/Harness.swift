import Dataplane
import PacketWire
import Topology

/// A topology compiled into a dataplane, with helpers to send packets from hosts and read what
/// comes out. Times are seconds from zero, given as nanoseconds to the dataplane.
public final class Harness {
    public let topology: Topology
    public let tables: ForwardingTables
    public let dataplane: Dataplane
    public let batch = PacketBatch()
    private var storage = [UInt8](repeating: 0, count: 16384)

    public init(yaml: String = Topology.defaultYAML, configure: (inout DataplaneConfiguration) -> Void = { _ in }) {
        let load = Topology.load(yaml: yaml)
        guard let topology = load.topology, load.errors.isEmpty else { fatalError("a fixture topology that does not load: \(load.errors)") }
        self.topology = topology
        tables = topology.forwardingTables()
        var configuration = DataplaneConfiguration()
        configuration.flowCapacity = 1024
        configure(&configuration)
        dataplane = Dataplane(tables: tables, configuration: configuration)
    }

    // MARK: Names

    public func port(_ name: String) -> Int {
        guard let port = tables.ports.firstIndex(where: { $0.name == name }) else { fatalError("no port \(name)") }
        return port
    }

    public func host(_ name: String) -> NetworkInterface {
        guard let host = topology.hosts.first(where: { $0.name == name }), case .vpc(let eni) = host.placement else {
            fatalError("no VPC host \(name)")
        }
        return topology[eni]
    }

    public func ipv4(_ name: String) -> IPv4Address { host(name).ipv4! }
    public func ipv6(_ name: String) -> IPv6Address { host(name).ipv6! }

    public func endpointENI(_ endpoint: String, zone: String) -> NetworkInterface {
        let model = topology.endpoints.first { $0.name == endpoint }!
        return model.interfaces.map { topology[$0] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    public func nodeENI(_ balancer: String, zone: String) -> NetworkInterface {
        let model = topology.loadBalancers.first { $0.name == balancer }!
        return model.nodes.map { topology[$0.interface] }.first { topology[topology[$0.subnet].zone].name == zone }!
    }

    public func target(_ name: String) -> Int { tables.targets.firstIndex { $0.name == name }! }

    // MARK: Sending

    /// What came out of one packet.
    public struct Outcome {
        public let verdict: Verdict
        public let bytes: [UInt8]
        public var port: Int? { verdict.port }
        public var drop: DropReason? { verdict.dropReason }
    }

    /// Runs one packet through the dataplane at `time` seconds, with `headroom` bytes free in
    /// front of it (for encapsulation; with none, the dataplane moves the packet up instead) in a
    /// buffer of `room` bytes from the packet's start (default: 16 KB less the headroom).
    @discardableResult
    public func send(_ packet: [UInt8], from port: Int, at time: Double = 0, headroom: Int = 128, room: Int? = nil,
                     segmentLength: Int = 0) -> Outcome {
        storage.replaceSubrange(headroom..<headroom + packet.count, with: packet)
        return storage.withUnsafeMutableBytes { buffer in
            batch.removeAll()
            batch.append(buffer.baseAddress! + headroom, length: packet.count, capacity: room ?? buffer.count - headroom, ingressPort: port,
                         segmentLength: segmentLength, headroom: headroom)
            dataplane.process(batch, now: Int64(time * 1e9))
            let out = UnsafeMutableRawBufferPointer(start: batch.packets[0], count: batch.lengths[0])
            return Outcome(verdict: batch.verdicts[0], bytes: Array(out))
        }
    }
}
