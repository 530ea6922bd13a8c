// VPC Flow Logs: one record per ENI per flow direction per aggregation interval, in the default
// version 2 format (version account-id interface-id srcaddr dstaddr srcport dstport protocol
// packets bytes start end action log-status), so that existing parsers read them.
//
// Sessions hand their finished intervals to a preallocated buffer the caller drains after each
// batch; the buffer is sized for the worst batch, and anything past it is counted, not lost
// silently.

public struct FlowRecord: Sendable, Equatable {
    /// The ENI (interface index in the tables) the record is for.
    public var interface: Int
    public var key: FlowKey
    public var packets: UInt64
    public var bytes: UInt64
    /// Nanoseconds.
    public var start: Int64
    public var end: Int64
    public var accepted: Bool

    public init(interface: Int, key: FlowKey, packets: UInt64, bytes: UInt64, start: Int64, end: Int64, accepted: Bool) {
        self.interface = interface
        self.key = key
        self.packets = packets
        self.bytes = bytes
        self.start = start
        self.end = end
        self.accepted = accepted
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
            // As sent, and as delivered (translated sessions deliver the other key reversed).
            let sent = forward ? session.forward : session.reverse
            let translated = session.kind == .endpoint || session.kind == .loadBalancer
            let delivered = translated ? (forward ? session.reverse.reversed : session.forward.reversed) : sent
            let senderPort = Int(forward ? session.reversePort : session.forwardPort)
            let receiverPort = Int(forward ? session.forwardPort : session.reversePort)
            func add(_ interface: Int, _ key: FlowKey) {
                append(FlowRecord(interface: interface, key: key, packets: packets, bytes: bytes,
                                  start: session.intervalStart, end: end, accepted: true))
            }
            if case .interface(let interface) = tables.ports[senderPort].kind { add(interface, sent) }
            let nodeInterface = session.node.index.map { tables.nodes.interfaces[$0] }
            if session.kind == .endpoint, let endpointInterface = session.endpointInterface.index {
                // The endpoint ENI sees the consumer's side of the flow; the NLB node's ENI the
                // provider's side.
                add(endpointInterface, forward ? sent : delivered)
                if let node = nodeInterface { add(node, forward ? delivered : sent) }
            } else if session.kind == .loadBalancer, let node = nodeInterface {
                // A client of the NLB in its VPC sends to the node's address: the node's ENI sees
                // the client's side of the flow.
                add(node, forward ? sent : delivered)
            } else if session.kind == .gatewayLoadBalancer, let endpointInterface = session.endpointInterface.index {
                // A GWLB endpoint's ENI sees the flow pass, as it is.
                add(endpointInterface, sent)
            }
            if case .interface(let interface) = tables.ports[receiverPort].kind { add(interface, delivered) }
        }
    }
}

extension FlowRecord {
    /// The record as a VPC Flow Logs version 2 line (times in Unix seconds).
    public func line(tables: ForwardingTables) -> String {
        let interface = tables.interfaces[self.interface]
        return "2 \(interface.accountID) \(interface.id) \(key.source) \(key.destination) "
            + "\(key.sourcePort) \(key.destinationPort) \(key.proto) \(packets) \(bytes) "
            + "\(start / 1_000_000_000) \(end / 1_000_000_000) \(accepted ? "ACCEPT" : "REJECT") OK"
    }
}
