import Glibc
import PacketIO
import PacketWire
import Topology

/// The reference GWLB appliance's judgement of one GENEVE datagram (docs/aws-behaviour.md §6): it
/// must carry a bare IPv4 or IPv6 packet and AWS's three options (class 0x0108, types 1, 2 and 3,
/// in any order, as AWS's sample appliance requires); then the rules decide whether it goes back
/// to the GWLB, unchanged, or is dropped. Counted either way. One thread inspects; the counters
/// are read by another only for the summary at the end.
public final class ApplianceInspector: @unchecked Sendable {
    public enum Verdict: Equatable, Sendable {
        /// Back to the GWLB with its GENEVE header unchanged.
        case returned
        case dropped(rule: Int)
        case invalid(String)
    }

    public let drops: [ApplianceRule]
    public let counts: [ApplianceRule]
    public private(set) var returned: UInt64 = 0
    public private(set) var invalid: UInt64 = 0
    public private(set) var dropped: [UInt64]
    public private(set) var counted: [UInt64]

    public init(drops: [ApplianceRule] = [], counts: [ApplianceRule] = []) {
        self.drops = drops
        self.counts = counts
        dropped = [UInt64](repeating: 0, count: drops.count)
        counted = [UInt64](repeating: 0, count: counts.count)
    }

    /// Judges the UDP payload of a datagram that came to port 6081.
    public func inspect(_ datagram: UnsafeMutableRawBufferPointer) -> Verdict {
        let verdict = judge(datagram)
        switch verdict {
        case .returned: returned &+= 1
        case .dropped(let rule): dropped[rule] &+= 1
        case .invalid: invalid &+= 1
        }
        return verdict
    }

    private func judge(_ datagram: UnsafeMutableRawBufferPointer) -> Verdict {
        guard let geneve = try? GENEVEHeader(datagram) else { return .invalid("not a GENEVE header") }
        guard geneve.version == 0 else { return .invalid("GENEVE version \(geneve.version)") }
        guard geneve.gwlbOptions != nil else { return .invalid("AWS options (class 0x0108, types 1-3) missing") }
        let inner = geneve.payload
        let proto: UInt8, transport: UnsafeMutableRawBufferPointer?
        switch geneve.protocolType {
        case .ipv4:
            guard let ip = try? IPv4Packet(inner) else { return .invalid("inner IPv4 packet malformed") }
            proto = ip.protocol.rawValue
            transport = ip.isFragment && ip.fragmentOffset != 0 ? nil : ip.payload
        case .ipv6:
            guard let ip = try? IPv6Packet(inner) else { return .invalid("inner IPv6 packet malformed") }
            proto = ip.upperLayerProtocol.rawValue
            transport = ip.carriesTransportHeader
                ? UnsafeMutableRawBufferPointer(rebasing: inner[min(ip.upperLayerOffset, inner.count)...]) : nil
        default:
            return .invalid("inner protocol 0x\(String(geneve.protocolType.rawValue, radix: 16)) is neither IPv4 nor IPv6")
        }
        var port: UInt16?
        if proto == 6 || proto == 17, let transport, transport.count >= 4 {
            port = UInt16(transport[2]) << 8 | UInt16(transport[3])
        }
        for (index, rule) in counts.enumerated() where rule.matches(proto, port) { counted[index] &+= 1 }
        if let rule = drops.firstIndex(where: { $0.matches(proto, port) }) { return .dropped(rule: rule) }
        return .returned
    }

    /// One line of counters.
    public var summary: String {
        var parts = ["returned \(returned)", "invalid \(invalid)"]
        parts += drops.indices.map { "dropped \(drops[$0]) \(dropped[$0])" }
        parts += counts.indices.map { "counted \(counts[$0]) \(counted[$0])" }
        return parts.joined(separator: ", ")
    }
}

/// `privet appliance`: the reference appliance on a socket. It takes GENEVE on UDP 6081 and
/// sends each packet it keeps back to the GWLB node that sent it, inside the same GENEVE header
/// byte for byte, outer addresses swapped and the UDP ports as received (source the GWLB's,
/// destination 6081; docs/aws-behaviour.md §6).
///
/// Datagrams come and go in runs where the kernel allows: the listener reads with `UDP_GRO`, so
/// a GWLB's super-datagram (a TCP super-packet's segments, one GENEVE datagram each) arrives in
/// one read, and the ones kept go back in one `UDP_SEGMENT` send, cut into the same datagrams by
/// the kernel or by the GWLB's device. What is on the wire is unchanged: one inner packet a
/// datagram. The replies leave by a UDP socket bound to the GWLB's source port and connected to
/// the GWLB's address and 6081 (`ReplySockets`); where that port cannot be bound, by a raw UDP
/// socket (root), a datagram at a time, with checksum 0 as UDP over IPv4 allows.
public enum ApplianceServer {
    public static func run(address: IPv4Address?, port: UInt16, inspector: ApplianceInspector) throws(IOError) -> Never {
        let listener = try Socket.udp()
        // Runs of datagrams whole (Linux 5.0+); without it, one datagram a read.
        try? listener.receiveDatagramRuns()
        let raw = try Socket(domain: AF_INET, type: Int32(SOCK_RAW.rawValue), protocol: Int32(IPPROTO_UDP))
        // The raw socket only sends; it would otherwise get a copy of every UDP datagram. An
        // unconnected socket answers ENOTCONN, yet stops receiving all the same (inet_shutdown).
        do { try raw.shutdown(Int32(SHUT_RD)) } catch where error.errno == ENOTCONN {}
        // Room for the bursts a GWLB sends (a TCP super-packet becomes tens of datagrams at once);
        // FORCE, as root, past net.core.rmem_max.
        let room: Int32 = 8 << 20
        do { try listener.setOption(SOL_SOCKET, SO_RCVBUFFORCE, room) } catch { try listener.setOption(SOL_SOCKET, SO_RCVBUF, room) }
        do { try listener.bind(SocketAddress(address ?? IPv4Address(0), port: port)) } catch { throw IOError.failed("bind UDP \(port): \(error)") }
        // Replies leave from the address the GWLB sent to (outer addresses swapped). Listening on
        // every address, the route to the GWLB chooses, which in a host's namespace is its own.
        if let address { try raw.bind(SocketAddress(address, port: 0)) }
        var replies = ReplySockets(address: address, geneve: port)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 8)
        // One datagram behind the UDP header of a raw reply.
        let single = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 8, alignment: 8)
        while true {
            var peer = SocketAddress()
            // A receive that fails (an ICMP error queued on the socket) loses nothing: the next
            // one goes on.
            guard let (count, segmentSize) = try? listener.receiveSegments(into: buffer, from: &peer), count > 0 else { continue }
            let size = segmentSize ?? count
            // Each datagram judged; the ones returned close up at the front, in order, so that
            // every one but the last is still `size` bytes.
            var kept = 0, keptCount = 0, offset = 0
            while offset < count {
                let length = min(size, count - offset)
                if inspector.inspect(UnsafeMutableRawBufferPointer(rebasing: buffer[offset..<(offset + length)])) == .returned {
                    if kept != offset { (buffer.baseAddress! + kept).copyMemory(from: buffer.baseAddress! + offset, byteCount: length) }
                    kept += length
                    keptCount += 1
                }
                offset += length
            }
            guard keptCount > 0 else { continue }
            let returned = UnsafeRawBufferPointer(rebasing: buffer[0..<kept])
            // A reply the network refuses (no route, a full queue) is a lost packet, as on a wire.
            if let socket = replies.socket(to: peer) {
                if keptCount == 1 {
                    try? socket.send(returned)
                    continue
                }
                if replies.segmenting {
                    do throws(IOError) {
                        try socket.send(returned, segmentSize: size)
                        continue
                    } catch where error.errno == EIO || error.errno == EINVAL || error.errno == ENOPROTOOPT {
                        // This kernel or route cannot cut datagrams: one a send from now on.
                        replies.segmenting = false
                    } catch {
                        continue
                    }
                }
                for start in stride(from: 0, to: kept, by: size) {
                    try? socket.send(UnsafeRawBufferPointer(rebasing: buffer[start..<min(start + size, kept)]))
                }
                continue
            }
            var destination = peer
            destination.port = 0
            for start in stride(from: 0, to: kept, by: size) {
                let length = min(size, kept - start)
                (single.baseAddress! + 8).copyMemory(from: buffer.baseAddress! + start, byteCount: length)
                single.storeBytes(of: peer.port.bigEndian, toByteOffset: 0, as: UInt16.self)
                single.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
                single.storeBytes(of: UInt16(truncatingIfNeeded: length + 8).bigEndian, toByteOffset: 4, as: UInt16.self)
                single.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
                try? raw.send(UnsafeRawBufferPointer(rebasing: single[0..<(length + 8)]), to: destination)
            }
        }
    }
}

/// The appliance's reply sockets, one per GWLB address and source port: bound to that port,
/// connected to the GWLB's GENEVE port, so that a reply leaves with the ports of the datagram it
/// answers and may carry a run of datagrams in one send. At most `limit` are open (each is a
/// descriptor); past that they are all closed and made again as replies need them. A port that
/// cannot be bound (another socket of the appliance's host has it) is remembered as such.
struct ReplySockets {
    static let limit = 256
    let address: IPv4Address?
    let geneve: UInt16
    private var sockets: [UInt64: Socket?] = [:]
    /// Whether runs go in one send (UDP_SEGMENT); off once the kernel refuses one.
    var segmenting = true

    init(address: IPv4Address?, geneve: UInt16) {
        self.address = address
        self.geneve = geneve
    }

    /// The socket that answers `peer`, or nil when its port cannot be bound here.
    mutating func socket(to peer: SocketAddress) -> Socket? {
        guard let gwlb = peer.ipv4 else { return nil }
        let key = UInt64(gwlb.value) << 16 | UInt64(peer.port)
        if let known = sockets[key] { return known }
        if sockets.count >= ReplySockets.limit { sockets.removeAll() }
        let made = try? { () throws(IOError) -> Socket in
            let socket = try Socket.udp()
            try socket.bind(SocketAddress(address ?? IPv4Address(0), port: peer.port))
            try socket.connect(SocketAddress(gwlb, port: geneve))
            return socket
        }()
        sockets[key] = made
        return made
    }
}
