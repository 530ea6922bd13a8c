// Assigned numbers the wire layer reads (IANA protocol numbers, IEEE EtherTypes).

/// An IP protocol number (IPv4 protocol field, IPv6 next header), per IANA's registry.
@frozen
public struct IPProtocol: RawRepresentable, Hashable, Sendable {
    public var rawValue: UInt8
    @inlinable public init(rawValue: UInt8) { self.rawValue = rawValue }

    public static let hopByHop = IPProtocol(rawValue: 0)
    public static let icmp = IPProtocol(rawValue: 1)
    public static let tcp = IPProtocol(rawValue: 6)
    public static let udp = IPProtocol(rawValue: 17)
    public static let routing = IPProtocol(rawValue: 43)
    public static let fragment = IPProtocol(rawValue: 44)
    public static let icmpv6 = IPProtocol(rawValue: 58)
    public static let noNextHeader = IPProtocol(rawValue: 59)
    public static let destinationOptions = IPProtocol(rawValue: 60)

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

    public static let ipv4 = EtherType(rawValue: 0x0800)
    public static let arp = EtherType(rawValue: 0x0806)
    public static let vlan = EtherType(rawValue: 0x8100)
    public static let ipv6 = EtherType(rawValue: 0x86DD)
    public static let qinq = EtherType(rawValue: 0x88A8)
    /// Transparent Ethernet bridging: a GENEVE payload that is a whole Ethernet frame.
    public static let transparentEthernet = EtherType(rawValue: 0x6558)
}
