// Builders: field values in, well-formed packets out, written into the caller's buffer with every
// length and checksum computed. Used by tests, the demo and the traffic generator.

public struct IPv4Fields: Equatable, Sendable {
    public var source: IPv4Address
    public var destination: IPv4Address
    public var ttl: UInt8 = 64
    public var identification: UInt16 = 0
    public var dscp: UInt8 = 0
    public var ecn: UInt8 = 0
    public var dontFragment = false
    public var moreFragments = false
    /// In bytes; a multiple of 8.
    public var fragmentOffset = 0
    /// Raw option bytes, padded with end-of-options to a 4-byte boundary (at most 40).
    public var options: [UInt8] = []

    public init(source: IPv4Address, destination: IPv4Address) {
        self.source = source
        self.destination = destination
    }
}

public enum IPv6ExtensionHeader: Equatable, Sendable {
    /// Hop-by-hop options of `length` bytes in all (a multiple of 8), filled with PadN.
    case hopByHop(length: Int)
    /// Destination options of `length` bytes in all (a multiple of 8), filled with PadN.
    case destinationOptions(length: Int)
    case routing(type: UInt8, segmentsLeft: UInt8, addresses: [IPv6Address])
    /// Offset in bytes (a multiple of 8).
    case fragment(offset: Int, moreFragments: Bool, identification: UInt32)

    var protocolNumber: IPProtocol {
        switch self {
        case .hopByHop: return .hopByHop
        case .destinationOptions: return .destinationOptions
        case .routing: return .routing
        case .fragment: return .fragment
        }
    }

    var length: Int {
        switch self {
        case .hopByHop(let length), .destinationOptions(let length): return length
        case .routing(_, _, let addresses): return 8 + 16 * addresses.count
        case .fragment: return 8
        }
    }
}

public struct IPv6Fields: Equatable, Sendable {
    public var source: IPv6Address
    public var destination: IPv6Address
    public var hopLimit: UInt8 = 64
    public var trafficClass: UInt8 = 0
    public var flowLabel: UInt32 = 0
    public var extensionHeaders: [IPv6ExtensionHeader] = []

    public init(source: IPv6Address, destination: IPv6Address) {
        self.source = source
        self.destination = destination
    }
}

public struct TCPFields: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    public var sequenceNumber: UInt32 = 0
    public var acknowledgmentNumber: UInt32 = 0
    public var flags: TCPFlags
    public var window: UInt16 = 65535
    public var urgentPointer: UInt16 = 0
    public var maximumSegmentSize: UInt16? = nil
    public var windowScale: UInt8? = nil
    public var sackPermitted = false
    public var timestamps: TCPTimestamps? = nil

    public init(sourcePort: UInt16, destinationPort: UInt16, flags: TCPFlags) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
        self.flags = flags
    }

    /// Options in the order Linux sends them on a SYN: MSS, SACK-permitted, timestamps,
    /// NOP + window scale; padded with end-of-list to a 4-byte boundary.
    var optionsLength: Int {
        var length = 0
        if maximumSegmentSize != nil { length += 4 }
        if sackPermitted { length += 2 }
        if timestamps != nil { length += 10 }
        if windowScale != nil { length += 4 }
        return (length + 3) & ~3
    }

    var headerLength: Int { TCPSegment.Offset.minimumHeader + optionsLength }
}

public struct TCPTimestamps: Equatable, Sendable {
    public var value: UInt32
    public var echoReply: UInt32
    public init(value: UInt32, echoReply: UInt32) {
        self.value = value
        self.echoReply = echoReply
    }
}

public struct UDPFields: Equatable, Sendable {
    public var sourcePort: UInt16
    public var destinationPort: UInt16
    /// Over IPv4 a sender may leave the checksum zero (RFC 768); over IPv6 it is always computed.
    public var computeChecksum = true

    public init(sourcePort: UInt16, destinationPort: UInt16) {
        self.sourcePort = sourcePort
        self.destinationPort = destinationPort
    }
}

/// An ICMP or ICMPv6 header: type, code and the 4 bytes after the checksum (echo identifier and
/// sequence, an MTU, or unused). The message body is the payload.
public struct ICMPFields: Equatable, Sendable {
    public var type: UInt8
    public var code: UInt8
    public var restOfHeader: UInt32

    public init(type: UInt8, code: UInt8 = 0, restOfHeader: UInt32 = 0) {
        self.type = type
        self.code = code
        self.restOfHeader = restOfHeader
    }

    public static func echo(request: Bool, v6: Bool, identifier: UInt16, sequence: UInt16) -> ICMPFields {
        let type: UInt8 = v6 ? (request ? 128 : 129) : (request ? 8 : 0)
        return ICMPFields(type: type, restOfHeader: UInt32(identifier) << 16 | UInt32(sequence))
    }
}

public enum TransportFields: Equatable, Sendable {
    case tcp(TCPFields)
    case udp(UDPFields)
    /// ICMP over IPv4, ICMPv6 over IPv6.
    case icmp(ICMPFields)
    /// Raw bytes of another protocol (or a later fragment): the payload is written as it is.
    case raw(IPProtocol)

    func protocolNumber(ipv4: Bool) -> IPProtocol {
        switch self {
        case .tcp: return .tcp
        case .udp: return .udp
        case .icmp: return ipv4 ? .icmp : .icmpv6
        case .raw(let proto): return proto
        }
    }

    var headerLength: Int {
        switch self {
        case .tcp(let tcp): return tcp.headerLength
        case .udp: return UDPDatagram.Offset.header
        case .icmp: return ICMPOffset.header
        case .raw: return 0
        }
    }
}

public struct EthernetFields: Equatable, Sendable {
    public var destination: MACAddress
    public var source: MACAddress
    /// VLAN IDs, outermost first (at most two: 802.1ad outer, 802.1Q inner).
    public var vlanIDs: [UInt16] = []
    public var etherType: EtherType

    public init(destination: MACAddress, source: MACAddress, etherType: EtherType) {
        self.destination = destination
        self.source = source
        self.etherType = etherType
    }

    public var headerLength: Int { EthernetFrame.Offset.untaggedHeader + EthernetFrame.Offset.tag * vlanIDs.count }
}

public struct GENEVEOptionFields: Equatable, Sendable {
    public var optionClass: UInt16
    public var type: UInt8
    /// A multiple of 4 bytes, at most 124.
    public var data: [UInt8]

    public init(optionClass: UInt16, type: UInt8, data: [UInt8]) {
        self.optionClass = optionClass
        self.type = type
        self.data = data
    }
}

public struct GENEVEFields: Equatable, Sendable {
    public var vni: UInt32 = 0
    public var protocolType: EtherType
    public var isOAM = false
    public var hasCriticalOptions = false
    public var options: [GENEVEOptionFields] = []

    public init(protocolType: EtherType) { self.protocolType = protocolType }

    public var headerLength: Int {
        options.reduce(GENEVEHeader.Offset.base) { $0 + GENEVEOption.headerLength + $1.data.count }
    }
}

/// Writes packets into caller-owned buffers. Each function returns the bytes written, or nil when
/// the buffer is too small or a field cannot be encoded (an option length that is not a multiple
/// of 4, more than two VLAN tags, a packet over 65535 bytes).
public enum PacketBuilder {
    /// An IPv4 packet carrying `transport` and `payload`, with every length and checksum set.
    public static func ipv4(
        _ ip: IPv4Fields, _ transport: TransportFields, payload: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        guard ip.options.count <= 40 else { return nil }
        let headerLength = IPv4Packet.Offset.minimumHeader + (ip.options.count + 3) & ~3
        let total = headerLength + transport.headerLength + payload.count
        guard total <= 0xFFFF, buffer.count >= total, ip.fragmentOffset % 8 == 0,
              let base = buffer.baseAddress else { return nil }
        let proto = transport.protocolNumber(ipv4: true)
        base.writeU8(0x40 | UInt8(headerLength / 4), at: IPv4Packet.Offset.versionIHL)
        base.writeU8(ip.dscp << 2 | (ip.ecn & 0x03), at: IPv4Packet.Offset.typeOfService)
        base.writeU16(UInt16(total), at: IPv4Packet.Offset.totalLength)
        base.writeU16(ip.identification, at: IPv4Packet.Offset.identification)
        var flagsFragment = UInt16(truncatingIfNeeded: ip.fragmentOffset / 8) & 0x1FFF
        if ip.dontFragment { flagsFragment |= 0x4000 }
        if ip.moreFragments { flagsFragment |= 0x2000 }
        base.writeU16(flagsFragment, at: IPv4Packet.Offset.flagsFragment)
        base.writeU8(ip.ttl, at: IPv4Packet.Offset.ttl)
        base.writeU8(proto.rawValue, at: IPv4Packet.Offset.protocol)
        base.writeIPv4Address(ip.source, at: IPv4Packet.Offset.source)
        base.writeIPv4Address(ip.destination, at: IPv4Packet.Offset.destination)
        for index in 0..<(headerLength - IPv4Packet.Offset.minimumHeader) {
            base.writeU8(index < ip.options.count ? ip.options[index] : 0, at: IPv4Packet.Offset.minimumHeader + index)
        }
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: ip.source, destination: ip.destination, protocol: proto, length: total - headerLength)
        writeTransport(transport, payload: payload, at: base + headerLength, pseudoHeaderSum: pseudo, ipv4: true)
        // The header checksum last, over the finished header (RFC 791).
        InternetChecksum.store(base, count: headerLength, fieldOffset: IPv4Packet.Offset.checksum)
        return total
    }

    /// An IPv6 packet with its extension headers, carrying `transport` and `payload`.
    public static func ipv6(
        _ ip: IPv6Fields, _ transport: TransportFields, payload: UnsafeRawBufferPointer,
        into buffer: UnsafeMutableRawBufferPointer
    ) -> Int? {
        let extensionLength = ip.extensionHeaders.reduce(0) { $0 + $1.length }
        let payloadLength = extensionLength + transport.headerLength + payload.count
        let total = IPv6Packet.Offset.fixedHeader + payloadLength
        guard payloadLength <= 0xFFFF, buffer.count >= total, let base = buffer.baseAddress else { return nil }
        for header in ip.extensionHeaders {
            switch header {
            case .hopByHop(let length), .destinationOptions(let length):
                guard length >= 8, length % 8 == 0, length <= 2048 else { return nil }
            case .routing(_, _, let addresses):
                guard addresses.count <= 127 else { return nil }
            case .fragment(let offset, _, _):
                guard offset % 8 == 0, offset < 0x10000 else { return nil }
            }
        }
        let proto = transport.protocolNumber(ipv4: false)
        base.writeU32(6 << 28 | UInt32(ip.trafficClass) << 20 | (ip.flowLabel & 0xF_FFFF), at: 0)
        base.writeU16(UInt16(payloadLength), at: IPv6Packet.Offset.payloadLength)
        base.writeU8((ip.extensionHeaders.first?.protocolNumber ?? proto).rawValue, at: IPv6Packet.Offset.nextHeader)
        base.writeU8(ip.hopLimit, at: IPv6Packet.Offset.hopLimit)
        base.writeIPv6Address(ip.source, at: IPv6Packet.Offset.source)
        base.writeIPv6Address(ip.destination, at: IPv6Packet.Offset.destination)
        var offset = IPv6Packet.Offset.fixedHeader
        var finalDestination = ip.destination
        for (index, header) in ip.extensionHeaders.enumerated() {
            let next = index + 1 < ip.extensionHeaders.count ? ip.extensionHeaders[index + 1].protocolNumber : proto
            let at = base + offset
            at.writeU8(next.rawValue, at: 0)
            switch header {
            case .hopByHop(let length), .destinationOptions(let length):
                at.writeU8(UInt8(length / 8 - 1), at: 1)
                // One PadN option fills the rest (RFC 8200 §4.2): type 1, data length, zeros.
                at.writeU8(1, at: 2)
                at.writeU8(UInt8(length - 4), at: 3)
                (at + 4).initializeMemory(as: UInt8.self, repeating: 0, count: length - 4)
            case .routing(let type, let segmentsLeft, let addresses):
                at.writeU8(UInt8(2 * addresses.count), at: 1)
                at.writeU8(type, at: 2)
                at.writeU8(segmentsLeft, at: 3)
                at.writeU32(0, at: 4)
                for (slot, address) in addresses.enumerated() { at.writeIPv6Address(address, at: 8 + 16 * slot) }
                if segmentsLeft > 0, !addresses.isEmpty {
                    finalDestination = type == 4 ? addresses[0] : addresses[addresses.count - 1]
                }
            case .fragment(let fragmentOffset, let more, let identification):
                at.writeU8(0, at: 1)
                at.writeU16(UInt16(fragmentOffset) & 0xFFF8 | (more ? 1 : 0), at: 2)
                at.writeU32(identification, at: 4)
            }
            offset += header.length
        }
        let pseudo = InternetChecksum.pseudoHeaderSum(
            source: ip.source, destination: finalDestination, protocol: proto, length: total - offset)
        writeTransport(transport, payload: payload, at: base + offset, pseudoHeaderSum: pseudo, ipv4: false)
        return total
    }

    /// An Ethernet II header with its VLAN tags; the caller writes the payload after it.
    public static func ethernet(_ fields: EthernetFields, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let length = fields.headerLength
        guard fields.vlanIDs.count <= 2, buffer.count >= length, let base = buffer.baseAddress else { return nil }
        base.writeMACAddress(fields.destination, at: EthernetFrame.Offset.destination)
        base.writeMACAddress(fields.source, at: EthernetFrame.Offset.source)
        var offset = EthernetFrame.Offset.etherType
        for (index, vlan) in fields.vlanIDs.enumerated() {
            // With two tags the outer one is an 802.1ad service tag.
            let tagType = fields.vlanIDs.count == 2 && index == 0 ? EtherType.qinq : EtherType.vlan
            base.writeU16(tagType.rawValue, at: offset)
            base.writeU16(vlan & 0x0FFF, at: offset + 2)
            offset += EthernetFrame.Offset.tag
        }
        base.writeU16(fields.etherType.rawValue, at: offset)
        return length
    }

    /// A GENEVE base header and options; the caller writes the inner packet after it.
    public static func geneve(_ fields: GENEVEFields, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let length = fields.headerLength
        let optionsLength = length - GENEVEHeader.Offset.base
        guard optionsLength / 4 <= 0x3F, buffer.count >= length, let base = buffer.baseAddress,
              fields.options.allSatisfy({ $0.data.count % 4 == 0 && $0.data.count <= 124 }) else { return nil }
        base.writeU8(UInt8(optionsLength / 4), at: GENEVEHeader.Offset.versionOptionLength)
        base.writeU8((fields.isOAM ? 0x80 : 0) | (fields.hasCriticalOptions ? 0x40 : 0), at: GENEVEHeader.Offset.flags)
        base.writeU16(fields.protocolType.rawValue, at: GENEVEHeader.Offset.protocolType)
        base.writeU32(fields.vni << 8, at: GENEVEHeader.Offset.vni)
        var offset = GENEVEHeader.Offset.base
        for option in fields.options {
            base.writeU16(option.optionClass, at: offset)
            base.writeU8(option.type, at: offset + 2)
            base.writeU8(UInt8(option.data.count / 4), at: offset + 3)
            for (index, byte) in option.data.enumerated() { base.writeU8(byte, at: offset + 4 + index) }
            offset += GENEVEOption.headerLength + option.data.count
        }
        return length
    }

    static func writeTransport(
        _ transport: TransportFields, payload: UnsafeRawBufferPointer, at base: UnsafeMutableRawPointer,
        pseudoHeaderSum: UInt32, ipv4: Bool
    ) {
        let headerLength = transport.headerLength
        if let source = payload.baseAddress, payload.count > 0 {
            (base + headerLength).copyMemory(from: source, byteCount: payload.count)
        }
        let length = headerLength + payload.count
        switch transport {
        case .tcp(let tcp):
            base.writeU16(tcp.sourcePort, at: TCPSegment.Offset.sourcePort)
            base.writeU16(tcp.destinationPort, at: TCPSegment.Offset.destinationPort)
            base.writeU32(tcp.sequenceNumber, at: TCPSegment.Offset.sequence)
            base.writeU32(tcp.acknowledgmentNumber, at: TCPSegment.Offset.acknowledgment)
            base.writeU16(UInt16(headerLength / 4) << 12 | (tcp.flags.rawValue & 0x01FF), at: TCPSegment.Offset.dataOffsetFlags)
            base.writeU16(tcp.window, at: TCPSegment.Offset.window)
            base.writeU16(tcp.urgentPointer, at: TCPSegment.Offset.urgentPointer)
            writeTCPOptions(tcp, at: base + TCPSegment.Offset.minimumHeader)
            // The header was just written whole, so the view accepts it.
            try? TCPSegment(UnsafeMutableRawBufferPointer(start: base, count: length))
                .updateChecksum(pseudoHeaderSum: pseudoHeaderSum)
        case .udp(let udp):
            base.writeU16(udp.sourcePort, at: UDPDatagram.Offset.sourcePort)
            base.writeU16(udp.destinationPort, at: UDPDatagram.Offset.destinationPort)
            base.writeU16(UInt16(length), at: UDPDatagram.Offset.length)
            base.writeU16(0, at: UDPDatagram.Offset.checksum)
            if udp.computeChecksum || !ipv4 {
                try? UDPDatagram(UnsafeMutableRawBufferPointer(start: base, count: length))
                    .updateChecksum(pseudoHeaderSum: pseudoHeaderSum)
            }
        case .icmp(let icmp):
            base.writeU8(icmp.type, at: ICMPOffset.type)
            base.writeU8(icmp.code, at: ICMPOffset.code)
            base.writeU32(icmp.restOfHeader, at: ICMPOffset.restOfHeader)
            // ICMPv4 sums the message alone; ICMPv6 adds the pseudo-header (RFC 4443 §2.3).
            let message = UnsafeMutableRawBufferPointer(start: base, count: length)
            if ipv4 {
                try? ICMPv4Message(message).updateChecksum()
            } else {
                try? ICMPv6Message(message).updateChecksum(pseudoHeaderSum: pseudoHeaderSum)
            }
        case .raw:
            break
        }
    }

    static func writeTCPOptions(_ tcp: TCPFields, at base: UnsafeMutableRawPointer) {
        var offset = 0
        if let mss = tcp.maximumSegmentSize {
            base.writeU8(2, at: offset); base.writeU8(4, at: offset + 1); base.writeU16(mss, at: offset + 2)
            offset += 4
        }
        if tcp.sackPermitted {
            base.writeU8(4, at: offset); base.writeU8(2, at: offset + 1)
            offset += 2
        }
        if let timestamps = tcp.timestamps {
            base.writeU8(8, at: offset); base.writeU8(10, at: offset + 1)
            base.writeU32(timestamps.value, at: offset + 2); base.writeU32(timestamps.echoReply, at: offset + 6)
            offset += 10
        }
        if let scale = tcp.windowScale {
            base.writeU8(1, at: offset); base.writeU8(3, at: offset + 1); base.writeU8(3, at: offset + 2)
            base.writeU8(scale, at: offset + 3)
            offset += 4
        }
        while offset < tcp.optionsLength {
            base.writeU8(0, at: offset)
            offset += 1
        }
    }
}

extension PacketBuilder {
    /// An IPv4 packet as a new array (for tests and tools, not the hot path).
    public static func ipv4Packet(_ ip: IPv4Fields, _ transport: TransportFields, payload: [UInt8] = []) -> [UInt8] {
        build(capacity: 60 + transport.headerLength + payload.count) { buffer in
            payload.withUnsafeBytes { ipv4(ip, transport, payload: $0, into: buffer) }
        }
    }

    /// An IPv6 packet as a new array (for tests and tools, not the hot path).
    public static func ipv6Packet(_ ip: IPv6Fields, _ transport: TransportFields, payload: [UInt8] = []) -> [UInt8] {
        let extensions = ip.extensionHeaders.reduce(0) { $0 + $1.length }
        return build(capacity: 40 + extensions + transport.headerLength + payload.count) { buffer in
            payload.withUnsafeBytes { ipv6(ip, transport, payload: $0, into: buffer) }
        }
    }

    static func build(capacity: Int, _ write: (UnsafeMutableRawBufferPointer) -> Int?) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: capacity)
        let written = bytes.withUnsafeMutableBytes { write($0) } ?? 0
        bytes.removeLast(capacity - written)
        return bytes
    }
}
