/// Why a view refused its bytes. Every malformation has a reason; none traps.
public enum WireError: Error, Equatable, Sendable {
    /// Fewer bytes than the header (or the length it declares) needs.
    case truncated
    /// The version field is not the one this view reads (4 for IPv4, 6 for IPv6, 0 for GENEVE).
    case badVersion
    /// IPv4 IHL below 5 (RFC 791 §3.1: the minimum header is five 32-bit words).
    case badHeaderLength
    /// IPv4 total length smaller than its own header.
    case badTotalLength
    /// An IPv6 extension header out of place (hop-by-hop not first), too long, or a chain too deep.
    case badExtensionChain
    /// TCP data offset below 5 or beyond the segment (RFC 9293 §3.1).
    case badDataOffset
    /// UDP length field below 8 (RFC 768).
    case badUDPLength
    /// GENEVE options that do not exactly fill the declared option length (RFC 8926 §3.5).
    case badGENEVEOptions
    /// More 802.1Q/802.1ad tags than the two of QinQ.
    case tooManyVLANTags
    /// A network-layer protocol the parser does not read (non-IP EtherType, raw packet whose
    /// version nibble is neither 4 nor 6).
    case unsupportedProtocol

    /// A short human-readable reason, as `privet inspect` prints it.
    public var summary: String {
        switch self {
        case .truncated: return "truncated"
        case .badVersion: return "bad version"
        case .badHeaderLength: return "bad header length"
        case .badTotalLength: return "bad total length"
        case .badExtensionChain: return "bad extension header chain"
        case .badDataOffset: return "bad data offset"
        case .badUDPLength: return "bad UDP length"
        case .badGENEVEOptions: return "bad GENEVE options"
        case .tooManyVLANTags: return "too many VLAN tags"
        case .unsupportedProtocol: return "unsupported protocol"
        }
    }
}

/// The layer of a packet at which a malformation was found.
public enum WireLayer: String, Sendable, Equatable {
    case link, ethernet, ipv4, ipv6, tcp, udp, icmpv4, icmpv6, geneve

    public var summary: String {
        switch self {
        case .link: return "link"
        case .ethernet: return "Ethernet"
        case .ipv4: return "IPv4"
        case .ipv6: return "IPv6"
        case .tcp: return "TCP"
        case .udp: return "UDP"
        case .icmpv4: return "ICMP"
        case .icmpv6: return "ICMPv6"
        case .geneve: return "GENEVE"
        }
    }
}

/// A malformation and where it was found.
public struct Malformation: Error, Equatable, Sendable {
    public var layer: WireLayer
    public var reason: WireError

    public init(_ layer: WireLayer, _ reason: WireError) {
        self.layer = layer
        self.reason = reason
    }

    public var summary: String { "\(layer.summary): \(reason.summary)" }
}
