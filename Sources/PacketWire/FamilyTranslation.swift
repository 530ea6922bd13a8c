// IP header translation between the families, after RFC 7915 (SIIT) §4.1 and §5.1, for a
// dualstack NLB that carries an IPv6 client's flow to an IPv4 target: the upper layer stays where
// it is, and the header in front of it is rewritten as the other family's. The caller makes the
// room (or takes back what is left over) in front of the packet; the transport checksum is the
// caller's too (its pseudo-header changes with the addresses alone: the length and protocol
// sum the same in both families).

public enum FamilyTranslation {
    /// Writes an IPv4 header for the upper layer of `packet` in the 20 bytes before it, and
    /// returns where that header starts (the packet's new start). Traffic class becomes the type
    /// of service, the hop limit the TTL; identification 0 and don't-fragment set, as for an
    /// IPv6 packet with no fragment header (RFC 7915 §5.1). Extension headers are left behind.
    @inlinable
    public static func toIPv4(_ packet: IPv6Packet, source: IPv4Address, destination: IPv4Address) -> Int {
        let upper = packet.upperLayerOffset
        let length = packet.availableLength - upper
        let (trafficClass, hopLimit, next) = (packet.trafficClass, packet.hopLimit, packet.upperLayerProtocol)
        writeIPv4(at: packet.base + (upper - IPv4Packet.Offset.minimumHeader), typeOfService: trafficClass, ttl: hopLimit,
                  protocol: next, totalLength: length + IPv4Packet.Offset.minimumHeader, source: source, destination: destination)
        return upper - IPv4Packet.Offset.minimumHeader
    }

    /// Writes a 20-byte IPv4 header at `start`: no options, identification 0, don't-fragment
    /// set, its checksum computed.
    @inlinable
    public static func writeIPv4(at start: UnsafeMutableRawPointer, typeOfService: UInt8, ttl: UInt8, protocol proto: IPProtocol,
                                 totalLength: Int, source: IPv4Address, destination: IPv4Address) {
        start.writeU8(0x45, at: IPv4Packet.Offset.versionIHL)
        start.writeU8(typeOfService, at: IPv4Packet.Offset.typeOfService)
        start.writeU16(UInt16(truncatingIfNeeded: totalLength), at: IPv4Packet.Offset.totalLength)
        start.writeU16(0, at: IPv4Packet.Offset.identification)
        start.writeU16(0x4000, at: IPv4Packet.Offset.flagsFragment)
        start.writeU8(ttl, at: IPv4Packet.Offset.ttl)
        start.writeU8(proto.rawValue, at: IPv4Packet.Offset.protocol)
        start.writeIPv4Address(source, at: IPv4Packet.Offset.source)
        start.writeIPv4Address(destination, at: IPv4Packet.Offset.destination)
        InternetChecksum.store(start, count: IPv4Packet.Offset.minimumHeader, fieldOffset: IPv4Packet.Offset.checksum)
    }

    /// Bytes an IPv4 packet's header grows by as IPv6's (40 bytes, with no extension header).
    @inlinable
    public static func growth(toIPv6 packet: IPv4Packet) -> Int { IPv6Packet.Offset.fixedHeader - packet.headerLength }

    /// Writes an IPv6 header at `start`, which must be the 40 bytes before the upper layer of the
    /// IPv4 packet whose type of service, TTL, protocol and payload length are given (read them
    /// before the room in front is made: the new header may cover the old). Flow label 0
    /// (RFC 7915 §4.1); IPv4 options are left behind.
    @inlinable
    public static func writeIPv6(at start: UnsafeMutableRawPointer, typeOfService: UInt8, ttl: UInt8, protocol proto: IPProtocol,
                                 payloadLength: Int, source: IPv6Address, destination: IPv6Address) {
        start.writeU32(6 << 28 | UInt32(typeOfService) << 20, at: IPv6Packet.Offset.versionClassFlow)
        start.writeU16(UInt16(truncatingIfNeeded: payloadLength), at: IPv6Packet.Offset.payloadLength)
        start.writeU8(proto.rawValue, at: IPv6Packet.Offset.nextHeader)
        start.writeU8(ttl, at: IPv6Packet.Offset.hopLimit)
        start.writeIPv6Address(source, at: IPv6Packet.Offset.source)
        start.writeIPv6Address(destination, at: IPv6Packet.Offset.destination)
    }
}

extension FamilyTranslation {
    /// An ICMP (IPv4) error's type, code and rest of header as ICMPv6's (RFC 7915 §4.2): nil for
    /// one with no ICMPv6 counterpart, or one whose translation needs more than this (parameter
    /// problems, whose pointer moves).
    @inlinable
    public static func icmpv6(type: UInt8, code: UInt8, rest: UInt32) -> (type: UInt8, code: UInt8, rest: UInt32)? {
        switch (type, code) {
        case (3, 0), (3, 1), (3, 5), (3, 6), (3, 7), (3, 8), (3, 11), (3, 12): return (1, 0, 0)
        case (3, 9), (3, 10), (3, 13), (3, 15): return (1, 1, 0)
        case (3, 3): return (1, 4, 0)
        // Protocol unreachable: a parameter problem at the Next Header field (byte 6).
        case (3, 2): return (4, 1, 6)
        // Fragmentation needed: Packet Too Big, the MTU 20 bytes larger for the IPv6 header
        // (and never below IPv6's minimum, 1280).
        case (3, 4): return (2, 0, max(1280, (rest & 0xFFFF) + 20))
        case (11, 0), (11, 1): return (3, code, 0)
        default: return nil
        }
    }

    /// An ICMPv6 error's type, code and rest of header as ICMP's (RFC 7915 §5.2); nil as above.
    @inlinable
    public static func icmpv4(type: UInt8, code: UInt8, rest: UInt32) -> (type: UInt8, code: UInt8, rest: UInt32)? {
        switch (type, code) {
        case (1, 0), (1, 2), (1, 3): return (3, 1, 0)
        case (1, 1): return (3, 10, 0)
        case (1, 4): return (3, 3, 0)
        // Packet Too Big: fragmentation needed, the MTU 20 bytes smaller for the IPv4 header.
        case (2, 0): return (3, 4, min(rest, 65555) &- 20)
        case (3, 0), (3, 1): return (11, code, 0)
        case (4, 1): return (3, 2, 0)
        default: return nil
        }
    }
}
