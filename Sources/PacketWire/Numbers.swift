// Assigned numbers the wire layer reads (IANA protocol numbers, IEEE EtherTypes).

// The constants are computed properties, not stored ones: a stored static is initialised lazily
// and every read pays for the check (it showed in the dataplane's profile); these fold away.

/// An IP protocol number (IPv4 protocol field, IPv6 next header), per IANA's registry.
@frozen
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    @inlinable public static var hopByHop: IPProtocol { IPProtocol(rawValue: 0) }
    @inlinable public static var icmp: IPProtocol { IPProtocol(rawValue: 1) }
    @inlinable public static var tcp: IPProtocol { IPProtocol(rawValue: 6) }
    @inlinable public static var udp: IPProtocol { IPProtocol(rawValue: 17) }
    @inlinable public static var routing: IPProtocol { IPProtocol(rawValue: 43) }
    @inlinable public static var fragment: IPProtocol { IPProtocol(rawValue: 44) }
    @inlinable public static var icmpv6: IPProtocol { IPProtocol(rawValue: 58) }
    @inlinable public static var noNextHeader: IPProtocol { IPProtocol(rawValue: 59) }
    @inlinable public static var destinationOptions: IPProtocol { IPProtocol(rawValue: 60) }

    /// The name tcpdump prints, or `ip-proto-N`.
    public var name: String {
        switch self {
        case .icmp: return "ICMP"
        case .tcp: return "TCP"
        case .udp: return "UDP"
        case .icmpv6: return "ICMP6"
        default: return "ip-proto-\(rawValue)"
        }
    }
}

/// An EtherType (IEEE 802 numbers, as carried by Ethernet II, Linux cooked captures and GENEVE).
@frozen
public struct EtherType: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt16
    @inlinable public init(rawValue: UInt16) { self.rawValue = rawValue }

    @inlinable public static var ipv4: EtherType { EtherType(rawValue: 0x0800) }
    @inlinable public static var arp: EtherType { EtherType(rawValue: 0x0806) }
    @inlinable public static var vlan: EtherType { EtherType(rawValue: 0x8100) }
    @inlinable public static var ipv6: EtherType { EtherType(rawValue: 0x86DD) }
    @inlinable public static var qinq: EtherType { EtherType(rawValue: 0x88A8) }
    /// Transparent Ethernet bridging: a GENEVE payload that is a whole Ethernet frame.
    @inlinable public static var transparentEthernet: EtherType { EtherType(rawValue: 0x6558) }
}
