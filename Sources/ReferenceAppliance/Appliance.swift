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
/// destination 6081; docs/aws-behaviour.md §6). A bound UDP socket cannot send from another port,
/// so the replies leave by a raw UDP socket (root), with checksum 0 as UDP over IPv4 allows.
public enum ApplianceServer {
    public static func run(address: IPv4Address?, port: UInt16, inspector: ApplianceInspector) throws(IOError) -> Never {
        let listener = try Socket.udp()
        let sender = try Socket(domain: AF_INET, type: Int32(SOCK_RAW.rawValue), protocol: Int32(IPPROTO_UDP))
        // The raw socket only sends; it would otherwise get a copy of every UDP datagram. An
        // unconnected socket answers ENOTCONN, yet stops receiving all the same (inet_shutdown).
        do { try sender.shutdown(Int32(SHUT_RD)) } catch where error.errno == ENOTCONN {}
        // Room for the bursts a GWLB sends (a TCP super-packet becomes tens of datagrams at once);
        // FORCE, as root, past net.core.rmem_max.
        let room: Int32 = 8 << 20
        do { try listener.setOption(SOL_SOCKET, SO_RCVBUFFORCE, room) } catch { try listener.setOption(SOL_SOCKET, SO_RCVBUF, room) }
        do { try listener.bind(SocketAddress(address ?? IPv4Address(0), port: port)) } catch { throw IOError.failed("bind UDP \(port): \(error)") }
        // Replies leave from the address the GWLB sent to (outer addresses swapped). Listening on
        // every address, the route to the GWLB chooses, which in a host's namespace is its own.
        if let address { try sender.bind(SocketAddress(address, port: 0)) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536 + 8, alignment: 8)
        while true {
            var peer = SocketAddress()
            // The datagram lands after room for the UDP header of the reply. A receive that fails
            // (an ICMP error queued on the socket) loses nothing: the next one goes on.
            guard let count = try? listener.receive(into: UnsafeMutableRawBufferPointer(rebasing: buffer[8...]), from: &peer),
                  count > 0 else { continue }
            guard inspector.inspect(UnsafeMutableRawBufferPointer(rebasing: buffer[8..<(8 + count)])) == .returned else { continue }
            let total = UInt16(truncatingIfNeeded: count + 8)
            buffer.storeBytes(of: peer.port.bigEndian, toByteOffset: 0, as: UInt16.self)
            buffer.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
            buffer.storeBytes(of: total.bigEndian, toByteOffset: 4, as: UInt16.self)
            buffer.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
            var destination = peer
            destination.port = 0
            // A reply the network refuses (no route, a full queue) is a lost packet, as on a wire.
            try? sender.send(UnsafeRawBufferPointer(rebasing: buffer[0..<(count + 8)]), to: destination)
        }
    }
}
