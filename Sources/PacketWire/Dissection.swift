// A whole packet taken apart layer by layer: link, network, transport. Each layer is a view
// from this module, so the dissection allocates nothing.

/// The network layer of a dissected packet.
public enum NetworkLayer {
    case ipv4(IPv4Packet)
    case ipv6(IPv6Packet)
    /// A protocol the dissector does not read (ARP, ...), by EtherType.
    case other(EtherType)
}

/// The transport layer of a dissected packet.
public enum TransportLayer {
    case tcp(TCPSegment)
    case udp(UDPDatagram)
    case icmpv4(ICMPv4Message)
    case icmpv6(ICMPv6Message)
    /// A piece of a fragmented datagram. The first piece holds the transport header, but not the
    /// whole datagram its lengths and checksum speak of, so no fragment is read further.
    case fragment(IPProtocol)
    /// A protocol the dissector does not read.
    case other(IPProtocol)
    /// No network layer to carry one.
    case none
}

/// Link, network and transport views of one packet.
public struct PacketDissection {
    public let link: LinkFrame?
    public let network: NetworkLayer
    public let transport: TransportLayer

    /// Dissects a frame of the given link type.
    @inlinable
    public init(linkType: LinkType, bytes: UnsafeMutableRawBufferPointer) throws(Malformation) {
        let link = try LinkFrame(linkType, bytes)
        let rest = UnsafeMutableRawBufferPointer(rebasing: bytes[link.networkOffset...])
        try self.init(link: link, etherType: link.etherType, bytes: rest)
    }

    /// Dissects a network-layer packet of the given EtherType (a GENEVE payload, a TUN frame).
    @inlinable
    public init(etherType: EtherType, bytes: UnsafeMutableRawBufferPointer) throws(Malformation) {
        try self.init(link: nil, etherType: etherType, bytes: bytes)
    }

    @inlinable
    init(link: LinkFrame?, etherType: EtherType, bytes: UnsafeMutableRawBufferPointer) throws(Malformation) {
        self.link = link
        switch etherType {
        case .ipv4:
            let packet: IPv4Packet
            do { packet = try IPv4Packet(bytes) } catch { throw Malformation(.ipv4, error) }
            network = .ipv4(packet)
            transport = try PacketDissection.transport(
                packet.protocol, packet.payload, fragment: packet.isFragment, ipv4: true)
        case .ipv6:
            let packet: IPv6Packet
            do { packet = try IPv6Packet(bytes) } catch { throw Malformation(.ipv6, error) }
            network = .ipv6(packet)
            transport = try PacketDissection.transport(
                packet.upperLayerProtocol, packet.upperLayer, fragment: packet.isFragment, ipv4: false)
        default:
            network = .other(etherType)
            transport = .none
        }
    }

    @inlinable
    static func transport(
        _ proto: IPProtocol, _ bytes: UnsafeMutableRawBufferPointer, fragment: Bool, ipv4: Bool
    ) throws(Malformation) -> TransportLayer {
        if fragment { return .fragment(proto) }
        do {
            switch proto {
            case .tcp: return .tcp(try TCPSegment(bytes))
            case .udp: return .udp(try UDPDatagram(bytes))
            case .icmp where ipv4: return .icmpv4(try ICMPv4Message(bytes))
            case .icmpv6 where !ipv4: return .icmpv6(try ICMPv6Message(bytes))
            default: return .other(proto)
            }
        } catch {
            let layer: WireLayer
            switch proto {
            case .tcp: layer = .tcp
            case .udp: layer = .udp
            case .icmp: layer = .icmpv4
            default: layer = .icmpv6
            }
            throw Malformation(layer, error)
        }
    }
}
