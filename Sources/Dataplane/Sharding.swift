import PacketWire

// Several workers forwarding at once (`privet up --workers N`), each with a dataplane of its own
// (docs/ARCHITECTURE.md, "Several workers on one machine"). A flow belongs to the worker its
// ports name, seen the same from either end of the flow, so any worker can tell where a packet
// goes by reading its headers, without a lookup:
//
//   owner = finalize(the higher of the two ports) mod workers
//
// Why the higher port: it is the client's ephemeral port in almost every flow, and the one port
// every translation of the fabric keeps. An NLB that preserves the client's address changes only
// the destination port (listener to target), which is the lower; the 1:1 NAT of an internet
// gateway changes addresses only. Where the NLB translates the source too (through an endpoint,
// or from its own address), the node's NAT port is chosen so that the translated flow's
// higher-port owner is the worker that made it (`PortAllocators`, shard), so that the target's
// replies reach the flow's owner too. GENEVE from an appliance belongs to the flow inside; an
// ICMP error to the flow it quotes; ICMP echo to its identifier; what has no ports to worker 0.

/// Which of the workers a dataplane is: its shard of the flows.
public struct Shard: Sendable, Equatable {
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) {
        precondition(count >= 1 && index >= 0 && index < count)
        self.index = index
        self.count = count
    }

    /// The most workers: the queues a TUN device can have (the kernel's MAX_TAP_QUEUES); a
    /// replay takes as many, to replay any live run.
    public static let maximumWorkers = 256

    /// The only worker: every flow is its own.
    public static let whole = Shard(index: 0, count: 1)

    /// The worker that owns a flow between these two ports (in either order).
    @inline(__always)
    public static func owner(ports a: UInt16, _ b: UInt16, workers: Int) -> Int {
        guard workers > 1 else { return 0 }
        return Int(FlowHash.finalize(UInt64(max(a, b))) % UInt64(workers))
    }

    /// The worker that owns the flow of `packet` (an IP packet as it arrives from a device).
    /// Reads only the headers it needs, and never fails: what it cannot read is worker 0's,
    /// where the dataplane says what is wrong with it.
    public static func owner(of packet: UnsafeRawBufferPointer, workers: Int) -> Int {
        guard workers > 1 else { return 0 }
        return owner(of: packet, workers: workers, depth: 0)
    }

    private static func owner(of packet: UnsafeRawBufferPointer, workers: Int, depth: Int) -> Int {
        guard let (proto, transport) = transport(of: packet), transport.count >= 8 else { return 0 }
        switch proto {
        case IPProtocol.tcp.rawValue:
            return owner(ports: port(transport, 0), port(transport, 2), workers: workers)
        case IPProtocol.udp.rawValue:
            // GENEVE carries one inner packet (an appliance's return): its flow decides. The
            // GENEVE header is 8 bytes and its options' length in 4-byte words (RFC 8926 §3.4).
            if port(transport, 2) == GENEVEHeader.udpPort && depth == 0 && transport.count >= 16 {
                let inner = 8 + 8 + Int(transport[8] & 0x3F) * 4
                guard transport.count > inner else { return 0 }
                return owner(of: rest(of: transport, from: inner), workers: workers, depth: 1)
            }
            return owner(ports: port(transport, 0), port(transport, 2), workers: workers)
        case IPProtocol.icmp.rawValue, IPProtocol.icmpv6.rawValue:
            let type = transport[0]
            let isError = proto == IPProtocol.icmp.rawValue ? (type == 3 || type == 11 || type == 12)
                : (type >= 1 && type <= 4)
            // An error quotes the packet it is about, from 8 bytes in (RFC 792, RFC 4443).
            if isError {
                guard depth == 0 else { return 0 }
                return owner(of: rest(of: transport, from: 8), workers: workers, depth: 1)
            }
            // Echo and its reply share the identifier (one port, both ways).
            return owner(ports: port(transport, 4), port(transport, 4), workers: workers)
        default:
            return 0
        }
    }

    /// The bytes of `bytes` from `offset` on (at most its count).
    @inline(__always)
    private static func rest(of bytes: UnsafeRawBufferPointer, from offset: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: bytes.baseAddress! + offset, count: bytes.count - offset)
    }

    @inline(__always)
    private static func port(_ transport: UnsafeRawBufferPointer, _ offset: Int) -> UInt16 {
        UInt16(transport[offset]) << 8 | UInt16(transport[offset + 1])
    }

    /// The protocol and what follows the IP header; IPv6 extension headers are not followed
    /// (such packets are worker 0's).
    private static func transport(of packet: UnsafeRawBufferPointer) -> (UInt8, UnsafeRawBufferPointer)? {
        // Indexes rather than `first`: a generic of the standard library that, left
        // unspecialised in debug builds, allocates.
        guard packet.count > 0 else { return nil }
        let first = packet[0]
        switch first >> 4 {
        case 4:
            let headerLength = Int(first & 0x0F) * 4
            guard packet.count >= 20, headerLength >= 20, packet.count >= headerLength else { return nil }
            // A fragment after the first has no ports (none is reassembled: the dataplane drops it).
            guard packet[6] & 0x1F == 0 && packet[7] == 0 else { return nil }
            return (packet[9], rest(of: packet, from: headerLength))
        case 6:
            guard packet.count >= 40 else { return nil }
            return (packet[6], rest(of: packet, from: 40))
        default:
            return nil
        }
    }
}

extension DataplaneConfiguration {
    /// This configuration for worker `index` of `count`: its shard, and its share of the flow
    /// table's capacity.
    public func forWorker(_ index: Int, of count: Int) -> DataplaneConfiguration {
        var configuration = self
        configuration.shard = Shard(index: index, count: count)
        configuration.flowCapacity = max(1, (flowCapacity + count - 1) / count)
        return configuration
    }
}
