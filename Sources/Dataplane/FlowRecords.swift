import PacketWire

// VPC Flow Logs: one record per ENI per flow direction per aggregation interval. A record holds
// what any of AWS's fields needs (version 2's default ones and the custom format's: packet-level
// addresses, flow direction, TCP flags, traffic path); the flow-log writer picks the fields.
//
// Sessions hand their finished intervals to a preallocated buffer the caller drains after each
// batch; the buffer is sized for the worst batch, and anything past it is counted, not lost
// silently.

public struct FlowRecord: Sendable, Equatable {
    /// `flow-direction`: into the ENI or out of it.
    public enum Direction: UInt8, Sendable {
        case ingress
        case egress
    }

    /// `traffic-path`: AWS's codes for the way egress traffic leaves the ENI (the Nitro codes
    /// for internet gateways and gateway endpoints: every simulated instance is Nitro-based).
    public enum TrafficPath: UInt8, Sendable {
        /// An ingress record: AWS writes `-`.
        case none = 0
        /// Another resource in the same VPC, one that has an ENI there included (an endpoint,
        /// a load balancer node).
        case sameVPC = 1
        case gatewayEndpoint = 7
        case internetGateway = 8
    }

    /// The ENI (interface index in the tables) the record is for.
    public var interface: Int
    /// The flow as its packets' headers read at the ENI (`pkt-srcaddr`, `pkt-dstaddr`).
    public var key: FlowKey
    public var packets: UInt64
    public var bytes: UInt64
    /// Nanoseconds.
    public var start: Int64
    public var end: Int64
    public var accepted: Bool
    public var direction: Direction
    /// `tcp-flags` as AWS reports them (`FlowLogTCPFlags.value`).
    public var tcpFlags: UInt8
    public var trafficPath: TrafficPath

    public init(interface: Int, key: FlowKey, packets: UInt64, bytes: UInt64, start: Int64, end: Int64, accepted: Bool,
                direction: Direction, tcpFlags: UInt8, trafficPath: TrafficPath) {
        self.interface = interface
        self.key = key
        self.packets = packets
        self.bytes = bytes
        self.start = start
        self.end = end
        self.accepted = accepted
        self.direction = direction
        self.tcpFlags = tcpFlags
        self.trafficPath = trafficPath
    }
}

/// The TCP flags VPC Flow Logs report in `tcp-flags`: FIN 1, SYN 2, RST 4 and SYN-ACK 18, OR-ed
/// over the aggregation interval (a short connection's SYN and FIN read 3); ACK alone, PSH, URG
/// and the rest are not reported. A session keeps them per direction in four bits, SYN-ACK in
/// the fourth.
public enum FlowLogTCPFlags {
    /// The four bits of a segment's flags.
    @inlinable @inline(__always)
    public static func bits(_ flags: UInt16) -> UInt8 {
        let reported = UInt8(truncatingIfNeeded: flags) & 0x07
        return flags & 0x12 == 0x12 ? reported | 0x08 : reported
    }

    /// The reported value of four bits.
    @inlinable
    public static func value(_ bits: UInt8) -> UInt8 { bits & 0x07 | (bits & 0x08 != 0 ? 0x10 : 0) }

    /// The four bits of a raw IP packet's TCP flags; 0 when it is not a TCP segment's first
    /// fragment, or too short to say.
    public static func bits(ofIPPacket packet: UnsafeRawBufferPointer) -> UInt8 {
        guard let first = packet.first else { return 0 }
        let header: Int
        let proto: UInt8
        if first >> 4 == 4 {
            guard packet.count >= 20, packet[6] & 0x1F == 0, packet[7] == 0 else { return 0 }
            header = Int(first & 0x0F) * 4
            proto = packet[9]
        } else {
            guard packet.count >= 40 else { return 0 }
            header = 40
            proto = packet[6]
        }
        guard proto == IPProtocol.tcp.rawValue, packet.count >= header + 14 else { return 0 }
        return bits(UInt16(packet[header + 12] & 0x01) << 8 | UInt16(packet[header + 13]))
    }
}

public final class FlowRecordBuffer {
    public let capacity: Int
    private let records: UnsafeMutablePointer<FlowRecord>
    public private(set) var count = 0
    /// Records that did not fit (the caller drained too late).
    public private(set) var lost: UInt64 = 0

    init(capacity: Int) {
        self.capacity = capacity
        records = .allocate(capacity: capacity)
    }

    deinit {
        records.deinitialize(count: count)
        records.deallocate()
    }

    @inline(__always)
    func append(_ record: FlowRecord) {
        guard count < capacity else {
            lost &+= 1
            return
        }
        (records + count).initialize(to: record)
        count += 1
    }

    /// Hands every buffered record to `body` in order and empties the buffer.
    public func drain(_ body: (FlowRecord) -> Void) {
        for index in 0..<count { body(records[index]) }
        records.deinitialize(count: count)
        count = 0
    }

    /// The records of one session's interval: each direction with traffic, at every ENI it
    /// crossed, as the packets looked there.
    func record(_ session: Session, tables: ForwardingTables, end: Int64) {
        for direction in 0..<2 {
            let forward = direction == 0
            let packets = UInt64(forward ? session.packets.forward : session.packets.reverse)
            guard packets > 0 else { continue }
            let bytes = forward ? session.bytes.forward : session.bytes.reverse
            let tcpFlags = FlowLogTCPFlags.value(session.tcpFlagsSeen >> (direction * 4) & 0x0F)
            // As sent, and as delivered (translated sessions deliver the other key reversed).
            let sent = forward ? session.forward : session.reverse
            let translated = session.kind == .endpoint || session.kind == .loadBalancer
            let delivered = translated ? (forward ? session.reverse.reversed : session.forward.reversed) : sent
            let senderPort = Int(forward ? session.reversePort : session.forwardPort)
            let receiverPort = Int(forward ? session.forwardPort : session.reversePort)
            func add(_ interface: Int, _ key: FlowKey, _ flowDirection: FlowRecord.Direction,
                     path: FlowRecord.TrafficPath = .sameVPC) {
                append(FlowRecord(interface: interface, key: key, packets: packets, bytes: bytes,
                                  start: session.intervalStart, end: end, accepted: true, direction: flowDirection,
                                  tcpFlags: tcpFlags, trafficPath: flowDirection == .egress ? path : .none))
            }
            if case .interface(let interface) = tables.ports[senderPort].kind {
                // Where the sender's packets go next: an untranslated flow straight to its
                // receiver; any other through an endpoint or node in the same VPC.
                var path = FlowRecord.TrafficPath.sameVPC
                if session.kind == .plain {
                    switch tables.ports[receiverPort].kind {
                    case .internetGateway: path = .internetGateway
                    case .serviceNetwork: path = .gatewayEndpoint
                    case .interface, .resolver, .healthChecks: path = .sameVPC
                    }
                }
                add(interface, sent, .egress, path: path)
            }
            let nodeInterface = session.node.index.map { tables.nodes.interfaces[$0] }
            if session.kind == .endpoint, let endpointInterface = session.endpointInterface.index {
                // The endpoint ENI sees the consumer's side of the flow; the NLB node's ENI the
                // provider's side.
                add(endpointInterface, forward ? sent : delivered, forward ? .ingress : .egress)
                if let node = nodeInterface { add(node, forward ? delivered : sent, forward ? .egress : .ingress) }
            } else if session.kind == .loadBalancer, let node = nodeInterface {
                // A client of the NLB in its VPC sends to the node's address: the node's ENI sees
                // the client's side of the flow.
                add(node, forward ? sent : delivered, forward ? .ingress : .egress)
            } else if session.kind == .gatewayLoadBalancer, let endpointInterface = session.endpointInterface.index {
                // A GWLB endpoint's ENI sees the flow pass, as it is.
                add(endpointInterface, sent, .ingress)
            }
            if case .interface(let interface) = tables.ports[receiverPort].kind { add(interface, delivered, .ingress) }
        }
    }
}
