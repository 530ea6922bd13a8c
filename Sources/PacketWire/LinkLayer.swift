// The link layers a capture can carry, and how to find the network-layer packet inside each.
// Numbers are the tcpdump.org LINKTYPE/DLT registry values.

/// A capture's link layer.
public enum LinkType: Sendable, Equatable, CustomStringConvertible {
    case ethernet
    /// Raw IPv4 or IPv6, no link header: the version nibble says which.
    case rawIP
    /// Linux cooked capture v1 (`any` device), 16-byte header.
    case linuxSLL
    /// Linux cooked capture v2, 20-byte header.
    case linuxSLL2

    /// The link type of a DLT value as `pcap_datalink` reports it. Raw IP has two DLT numbers
    /// (12 on most systems, 14 on OpenBSD) besides LINKTYPE_RAW (101) and the per-version
    /// LINKTYPE_IPV4 (228) / LINKTYPE_IPV6 (229).
    public init?(dlt: Int32) {
        switch dlt {
        case 1: self = .ethernet
        case 12, 14, 101, 228, 229: self = .rawIP
        case 113: self = .linuxSLL
        case 276: self = .linuxSLL2
        default: return nil
        }
    }

    /// The DLT value to write in a new capture (LINKTYPE_RAW is written as DLT_RAW, 12).
    public var dlt: Int32 {
        switch self {
        case .ethernet: return 1
        case .rawIP: return 12
        case .linuxSLL: return 113
        case .linuxSLL2: return 276
        }
    }

    public var description: String {
        switch self {
        case .ethernet: return "Ethernet"
        case .rawIP: return "raw IP"
        case .linuxSLL: return "Linux cooked v1"
        case .linuxSLL2: return "Linux cooked v2"
        }
    }
}

/// Where the network layer starts in a frame of some link type, and what it is.
@frozen
public struct LinkFrame {
    public let etherType: EtherType
    public let networkOffset: Int
    /// VLAN IDs of an Ethernet frame, outermost first (nil when untagged).
    public let outerVLAN: UInt16?
    public let innerVLAN: UInt16?

    public enum SLL {
        public static let headerLength = 16
        public static let protocolOffset = 14
    }

    public enum SLL2 {
        public static let headerLength = 20
        public static let protocolOffset = 0
    }

    @inlinable
    public init(_ linkType: LinkType, _ bytes: UnsafeMutableRawBufferPointer) throws(Malformation) {
        var outer: UInt16? = nil
        var inner: UInt16? = nil
        switch linkType {
        case .ethernet:
            let frame: EthernetFrame
            do { frame = try EthernetFrame(bytes) } catch { throw Malformation(.ethernet, error) }
            etherType = frame.etherType
            networkOffset = frame.headerLength
            outer = frame.vlanID(0)
            inner = frame.vlanID(1)
        case .rawIP:
            guard let base = bytes.nonEmptyBase else { throw Malformation(.link, .truncated) }
            switch base.readU8(at: 0) >> 4 {
            case 4: etherType = .ipv4
            case 6: etherType = .ipv6
            default: throw Malformation(.link, .unsupportedProtocol)
            }
            networkOffset = 0
        case .linuxSLL:
            guard let base = bytes.nonEmptyBase, bytes.count >= SLL.headerLength else {
                throw Malformation(.link, .truncated)
            }
            etherType = EtherType(rawValue: base.readU16(at: SLL.protocolOffset))
            networkOffset = SLL.headerLength
        case .linuxSLL2:
            guard let base = bytes.nonEmptyBase, bytes.count >= SLL2.headerLength else {
                throw Malformation(.link, .truncated)
            }
            etherType = EtherType(rawValue: base.readU16(at: SLL2.protocolOffset))
            networkOffset = SLL2.headerLength
        }
        outerVLAN = outer
        innerVLAN = inner
    }
}
