import Glibc
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
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func run(address: IPv4Address?, port: UInt16, inspector: ApplianceInspector) throws(Failure) -> Never {
        let listener = socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
        let sender = socket(AF_INET, Int32(SOCK_RAW.rawValue), Int32(IPPROTO_UDP))
        guard listener >= 0 else { throw Failure(description: "socket: \(String(cString: strerror(errno)))") }
        guard sender >= 0 else {
            throw Failure(description: "raw socket: \(String(cString: strerror(errno)))" + (errno == EPERM ? " (run as root)" : ""))
        }
        // The raw socket only sends; it would otherwise get a copy of every UDP datagram.
        shutdown(sender, Int32(SHUT_RD))
        // Room for the bursts a GWLB sends (a TCP super-packet becomes tens of datagrams at once);
        // FORCE, as root, past net.core.rmem_max.
        var room: Int32 = 8 << 20
        if setsockopt(listener, SOL_SOCKET, SO_RCVBUFFORCE, &room, socklen_t(MemoryLayout<Int32>.size)) != 0 {
            setsockopt(listener, SOL_SOCKET, SO_RCVBUF, &room, socklen_t(MemoryLayout<Int32>.size))
        }
        var local = sockaddr_in()
        local.sin_family = sa_family_t(AF_INET)
        local.sin_port = port.bigEndian
        local.sin_addr = in_addr(s_addr: (address?.value ?? 0).bigEndian)
        let bound = withUnsafePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw Failure(description: "bind UDP \(port): \(String(cString: strerror(errno)))") }
        // Replies leave from the address the GWLB sent to (outer addresses swapped). Listening on
        // every address, the route to the GWLB chooses, which in a host's namespace is its own.
        if address != nil {
            var source = local
            source.sin_port = 0
            _ = withUnsafePointer(to: &source) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(sender, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
        }
        let buffer = UnsafeMutableRawPointer.allocate(byteCount: 65536 + 8, alignment: 8)
        while true {
            var peer = sockaddr_in()
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            // The datagram lands after room for the UDP header of the reply.
            let count = withUnsafeMutablePointer(to: &peer) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { recvfrom(listener, buffer + 8, 65536, 0, $0, &length) }
            }
            guard count > 0 else { continue }
            guard inspector.inspect(UnsafeMutableRawBufferPointer(start: buffer + 8, count: count)) == .returned else { continue }
            let total = UInt16(truncatingIfNeeded: count + 8)
            buffer.storeBytes(of: peer.sin_port, toByteOffset: 0, as: UInt16.self)
            buffer.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
            buffer.storeBytes(of: total.bigEndian, toByteOffset: 4, as: UInt16.self)
            buffer.storeBytes(of: UInt16(0), toByteOffset: 6, as: UInt16.self)
            var destination = peer
            destination.sin_port = 0
            _ = withUnsafePointer(to: &destination) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    sendto(sender, buffer, count + 8, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
        }
    }
}

extension Host.Server {
    /// The `privet` command line that runs this server in a host's namespace (`privet up`): a
    /// built-in server, or the reference appliance with its health port and rules.
    func privetArguments(identity: String) -> [String] {
        guard kind == .appliance else { return ["serve", kind.rawValue, "--port", String(port), "--identity", identity] }
        var arguments = ["appliance", "--health-port", String(port)]
        for rule in drops { arguments += ["--drop", rule.description] }
        for rule in counts { arguments += ["--count", rule.description] }
        return arguments
    }
}
