// The tunnel between a Gateway Load Balancer and its appliances (docs/aws-behaviour.md §6): GENEVE
// (RFC 8926) over UDP 6081 in outer IPv4, whatever the inner family; no inner Ethernet header
// (the protocol type is 0x0800 or 0x86DD); VNI 0; and AWS's three options of class 0x0108 in
// this order: type 1, the GWLB endpoint ID (8 bytes); type 2, the attachment ID (8 bytes);
// type 3, the flow cookie (4 bytes). 20 + 8 + 8 + 32 = 68 bytes in front of the inner packet.

/// The values of AWS's three GENEVE options.
public struct GWLBOptions: Equatable, Sendable {
    public var endpointID: UInt64
    public var attachmentID: UInt64
    public var cookie: UInt32

    @inlinable
    public init(endpointID: UInt64, attachmentID: UInt64, cookie: UInt32) {
        self.endpointID = endpointID
        self.attachmentID = attachmentID
        self.cookie = cookie
    }
}

public enum GWLBTunnel {
    /// AWS's option class.
    public static let optionClass: UInt16 = 0x0108
    public static let endpointType: UInt8 = 1
    public static let attachmentType: UInt8 = 2
    public static let cookieType: UInt8 = 3
    /// GENEVE base header and the three options.
    public static let headerLength = GENEVEHeader.Offset.base + 12 + 12 + 8
    /// Outer IPv4 and UDP, then the GENEVE header: what encapsulation adds.
    public static let overhead = IPv4Packet.Offset.minimumHeader + UDPDatagram.Offset.header + headerLength

    /// An option's header: AWS's class, the type, the data length in 4-byte words (low 5 bits).
    @inlinable
    public static func optionWord(_ type: UInt8, words: UInt32) -> UInt32 {
        UInt32(optionClass) << 16 | UInt32(type) << 8 | words
    }

    /// Writes the 68 bytes of outer IPv4, UDP and GENEVE at `base`, in front of an inner packet
    /// of `innerLength` bytes that must follow them. The UDP checksum is 0, as UDP over IPv4
    /// allows (RFC 768; RFC 8926 §3.3 lets a tunnel endpoint leave it so); the outer packet may
    /// not be fragmented (DF), as GWLB fragments nothing. The caller ensures the room.
    @inlinable
    public static func writeOuter(at base: UnsafeMutableRawPointer, source: IPv4Address, destination: IPv4Address,
                                  sourcePort: UInt16, innerLength: Int, innerIsIPv6: Bool, options: GWLBOptions) {
        let total = overhead + innerLength
        // IPv4: version 4, IHL 5, DF, TTL 64, UDP; identification 0 (an atomic datagram, RFC 6864).
        base.writeU32(0x4500_0000 | UInt32(truncatingIfNeeded: total), at: 0)
        base.writeU32(0x0000_4000, at: 4)
        base.writeU32(0x4011_0000, at: 8)
        base.writeU32(source.value, at: IPv4Packet.Offset.source)
        base.writeU32(destination.value, at: IPv4Packet.Offset.destination)
        base.writeU16(InternetChecksum.finish(InternetChecksum.sum(UnsafeRawPointer(base), count: IPv4Packet.Offset.minimumHeader)),
                      at: IPv4Packet.Offset.checksum)
        let udp = base + IPv4Packet.Offset.minimumHeader
        udp.writeU16(sourcePort, at: 0)
        udp.writeU16(GENEVEHeader.udpPort, at: 2)
        udp.writeU16(UInt16(truncatingIfNeeded: total - IPv4Packet.Offset.minimumHeader), at: 4)
        udp.writeU16(0, at: 6)
        let geneve = udp + UDPDatagram.Offset.header
        // Version 0, 8 words of options, no flags; the inner protocol; VNI 0 and the reserved byte.
        geneve.writeU16(0x0800, at: 0)
        geneve.writeU16(innerIsIPv6 ? EtherType.ipv6.rawValue : EtherType.ipv4.rawValue, at: 2)
        geneve.writeU32(0, at: 4)
        geneve.writeU32(optionWord(endpointType, words: 2), at: 8)
        geneve.writeU64(options.endpointID, at: 12)
        geneve.writeU32(optionWord(attachmentType, words: 2), at: 20)
        geneve.writeU64(options.attachmentID, at: 24)
        geneve.writeU32(optionWord(cookieType, words: 1), at: 32)
        geneve.writeU32(options.cookie, at: 36)
    }
}

extension GENEVEHeader {
    /// AWS's three options, in any order (as AWS's sample appliance reads them); nil when any of
    /// them is missing or has the wrong length.
    @inlinable
    public var gwlbOptions: GWLBOptions? {
        // As a GWLB writes them (and an appliance returns them): read in place.
        let area = base + Offset.base
        if optionsLength == 32, area.readU32(at: 0) == GWLBTunnel.optionWord(GWLBTunnel.endpointType, words: 2),
           area.readU32(at: 12) == GWLBTunnel.optionWord(GWLBTunnel.attachmentType, words: 2),
           area.readU32(at: 24) == GWLBTunnel.optionWord(GWLBTunnel.cookieType, words: 1) {
            return GWLBOptions(endpointID: area.readU64(at: 4), attachmentID: area.readU64(at: 16), cookie: area.readU32(at: 28))
        }
        var endpoint: UInt64?, attachment: UInt64?, cookie: UInt32?
        for option in options where option.optionClass == GWLBTunnel.optionClass {
            switch (option.type, option.dataLength) {
            case (GWLBTunnel.endpointType, 8): endpoint = option.base.readU64(at: GENEVEOption.headerLength)
            case (GWLBTunnel.attachmentType, 8): attachment = option.base.readU64(at: GENEVEOption.headerLength)
            case (GWLBTunnel.cookieType, 4): cookie = option.base.readU32(at: GENEVEOption.headerLength)
            default: continue
            }
        }
        guard let endpoint, let attachment, let cookie else { return nil }
        return GWLBOptions(endpointID: endpoint, attachmentID: attachment, cookie: cookie)
    }
}
