import PacketWire

/// A packet as the dataplane needs it: its flow key, where its headers are, and the TCP fields
/// that the tracker and the RST generator read. Made by one validating parse.
///
/// Compact (72 bytes), because every stage of a batch reads it from the packet's context and
/// copies of a value this size stay in registers: the IP header's view is made again from the
/// offsets found (for IPv6, by walking its header chain again) where a slower path needs it.
struct ParsedPacket {
    /// Where the IP header starts (nil only in `empty`).
    private var base: UnsafeMutableRawPointer?
    var key: FlowKey
    /// Bytes of the IP packet (header included).
    private var ipLength: UInt32
    /// Where the transport header starts: after the IPv4 header, or the IPv6 header chain.
    private var transportOffset: UInt16
    var tcpFlags: UInt16 = 0
    var sequence: UInt32 = 0
    var acknowledgment: UInt32 = 0
    private var tcpPayloadLength: UInt32 = 0
    /// An ICMP or ICMPv6 error, whose quoted packet names the flow it is about.
    var isICMPError = false

    @inline(__always) var isTCP: Bool { key.proto == IPProtocol.tcp.rawValue }
    /// Bytes of the IP packet (header included).
    @inline(__always) var length: Int { Int(ipLength) }
    /// TCP payload bytes.
    @inline(__always) var payloadLength: Int { Int(tcpPayloadLength) }

    /// The transport header and what follows it.
    @inline(__always)
    var transport: UnsafeMutableRawBufferPointer {
        guard let base else { return UnsafeMutableRawBufferPointer(start: nil, count: 0) }
        return UnsafeMutableRawBufferPointer(start: base + Int(transportOffset), count: length - Int(transportOffset))
    }

    /// The IPv4 header's view, for an IPv4 packet.
    @inline(__always)
    var ipv4: IPv4Packet? {
        guard key.isIPv4, let base else { return nil }
        return IPv4Packet(parsed: base, headerLength: Int(transportOffset), availableLength: length)
    }

    /// The IPv6 header chain's view, for an IPv6 packet (walked again: it held when parsed).
    @inline(__always)
    var ipv6: IPv6Packet? {
        guard !key.isIPv4, let base else { return nil }
        return try? IPv6Packet(UnsafeMutableRawBufferPointer(start: base, count: length))
    }

    /// A placeholder for storage that holds no packet yet.
    static var empty: ParsedPacket {
        ParsedPacket(base: nil, key: FlowKey(source: IPv4Address(0), destination: IPv4Address(0), sourcePort: 0,
                                             destinationPort: 0, proto: .tcp),
                     ipLength: 0, transportOffset: 0)
    }

    private init(base: UnsafeMutableRawPointer?, key: FlowKey, ipLength: UInt32, transportOffset: UInt16) {
        self.base = base
        self.key = key
        self.ipLength = ipLength
        self.transportOffset = transportOffset
    }

    /// What a flow's first packet carries that the next flow on the same 5-tuple most likely
    /// will not: TCP's initial sequence number (the NLB hashes it too, docs/aws-behaviour.md §1);
    /// otherwise the IPv4 identification or IPv6 flow label, and the length. Read from the
    /// packet alone, so a capture replayed gives what the live run gave.
    @inline(__always)
    var firstPacketEntropy: UInt64 {
        if isTCP { return UInt64(sequence) }
        // No Optional.map: unspecialised in debug builds, it allocates.
        var mark: UInt64 = 0
        if let ipv4 { mark = UInt64(ipv4.identification) } else if let ipv6 { mark = UInt64(ipv6.flowLabel) }
        return mark | UInt64(length) << 32
    }
    @inline(__always) var isSYN: Bool { tcpFlags & 0x002 != 0 }
    @inline(__always) var isRST: Bool { tcpFlags & 0x004 != 0 }
    @inline(__always) var isACK: Bool { tcpFlags & 0x010 != 0 }

    /// Parses an IP packet (no link header); throws why the fabric would not forward it: headers
    /// that cannot be read, a fragment (none is reassembled), or what `refusal` finds in the IP
    /// header.
    @inline(__always)
    init(_ bytes: UnsafeMutableRawBufferPointer) throws(DropReason) {
        guard let start = bytes.baseAddress, bytes.count > 0 else { throw .malformed }
        let version = start.load(as: UInt8.self) >> 4
        let proto: IPProtocol
        let isFragment: Bool
        let transport: UnsafeMutableRawBufferPointer
        if version == 4 {
            guard let packet = try? IPv4Packet(bytes) else { throw .malformed }
            if let refusal = ParsedPacket.refusal(packet) { throw refusal }
            proto = packet.protocol
            transport = packet.payload
            isFragment = packet.isFragment
            key = FlowKey(source: packet.source, destination: packet.destination, sourcePort: 0, destinationPort: 0, proto: proto)
            ipLength = UInt32(packet.availableLength)
            transportOffset = UInt16(packet.headerLength)
        } else if version == 6 {
            guard let packet = try? IPv6Packet(bytes) else { throw .malformed }
            if let refusal = ParsedPacket.refusal(packet) { throw refusal }
            proto = packet.upperLayerProtocol
            transport = packet.upperLayer
            isFragment = packet.isFragment
            key = FlowKey(source: packet.source, destination: packet.destination, sourcePort: 0, destinationPort: 0, proto: proto)
            ipLength = UInt32(packet.availableLength)
            transportOffset = UInt16(packet.upperLayerOffset)
        } else {
            throw .malformed
        }
        base = start
        guard !isFragment else { throw .fragment }
        switch proto {
        case .tcp:
            guard let tcp = try? TCPSegment(transport) else { throw .malformed }
            key.sourcePort = tcp.sourcePort
            key.destinationPort = tcp.destinationPort
            tcpFlags = tcp.flags.rawValue
            sequence = tcp.sequenceNumber
            acknowledgment = tcp.acknowledgmentNumber
            tcpPayloadLength = UInt32(tcp.payload.count)
        case .udp:
            guard let udp = try? UDPDatagram(transport) else { throw .malformed }
            key.sourcePort = udp.sourcePort
            key.destinationPort = udp.destinationPort
        case .icmp where version == 4:
            guard let icmp = try? ICMPv4Message(transport) else { throw .malformed }
            note(icmp)
        case .icmpv6 where version == 6:
            guard let icmp = try? ICMPv6Message(transport) else { throw .malformed }
            note(icmp)
        default:
            break
        }
    }

    /// What in an IPv4 header a router in the VPC fabric would not forward (RFC 1812 §5.2.2,
    /// §5.3.10; source routes are not honoured).
    @inline(__always)
    static func refusal(_ packet: IPv4Packet) -> DropReason? {
        guard packet.headerChecksumIsValid else { return .badIPChecksum }
        guard packet.headerLength > IPv4Packet.Offset.minimumHeader else { return nil }
        switch packet.optionsProblem {
        case .sourceRoute: return .sourceRoute
        case .malformed: return .malformedIPOptions
        case nil: return nil
        }
    }

    /// What in an IPv6 extension chain the fabric would not forward: a type 0 routing header
    /// (RFC 5095), a fragment header inside a fragment.
    @inline(__always)
    static func refusal(_ packet: IPv6Packet) -> DropReason? {
        if packet.routingType == 0 { return .deprecatedRoutingHeader }
        if packet.fragmentHeaderCount > 1 { return .fragmentChain }
        return nil
    }

    /// An error names its flow in its quote; an echo's identifier stands for both ports, so that
    /// the reply matches the request.
    @inline(__always)
    private mutating func note(_ icmp: some ICMPMessage) {
        isICMPError = icmp.isError
        if icmp.isEcho {
            key.sourcePort = icmp.identifier
            key.destinationPort = icmp.identifier
        }
    }

    /// Rewrites addresses and ports so that the packet reads as `target`.
    @inline(__always)
    func rewrite(as target: FlowKey) {
        if let ipv4 {
            ipv4.rewriteFlow(source: target.sourceIPv4, destination: target.destinationIPv4,
                             sourcePort: target.sourcePort, destinationPort: target.destinationPort)
        } else if let ipv6 {
            ipv6.rewriteFlow(source: target.sourceIPv6, destination: target.destinationIPv6,
                             sourcePort: target.sourcePort, destinationPort: target.destinationPort)
        }
    }

    /// Rewrites addresses and ports to `target` with checksum deltas worked out beforehand.
    @inline(__always)
    func rewrite(as target: FlowKey, delta: (header: UInt32, transport: UInt32)) {
        if let ipv6, ipv6.finalDestinationOffset != IPv6Packet.Offset.destination {
            // A routing header names the pseudo-header's destination: work the delta out.
            rewrite(as: target)
            return
        }
        if let ipv4 {
            ipv4.rewriteFlow(source: target.sourceIPv4, destination: target.destinationIPv4, sourcePort: target.sourcePort,
                             destinationPort: target.destinationPort, headerDelta: delta.header, transportDelta: delta.transport)
        } else if let ipv6 {
            ipv6.rewriteFlow(source: target.sourceIPv6, destination: target.destinationIPv6, sourcePort: target.sourcePort,
                             destinationPort: target.destinationPort, transportDelta: delta.transport)
        }
    }

    /// The checksum deltas of rewriting a packet that reads as `old` so that it reads as `new`.
    /// Between the families only the transport's changes: its pseudo-header sums the addresses,
    /// and the length and protocol, which sum alike in both (RFC 7915 §4.5); the IP header is
    /// written anew.
    static func deltas(from old: FlowKey, to new: FlowKey) -> (header: UInt32, transport: UInt32) {
        var addresses: UInt32
        if old.family != new.family {
            addresses = InternetChecksum.add(UInt32(~InternetChecksum.fold(addressSum(old))), addressSum(new))
        } else if old.isIPv4 {
            addresses = InternetChecksum.add(InternetChecksum.delta(old: old.sourceIPv4.value, new: new.sourceIPv4.value),
                                             InternetChecksum.delta(old: old.destinationIPv4.value, new: new.destinationIPv4.value))
        } else {
            addresses = InternetChecksum.add(InternetChecksum.delta(old: old.sourceIPv6, new: new.sourceIPv6),
                                             InternetChecksum.delta(old: old.destinationIPv6, new: new.destinationIPv6))
        }
        let ports = InternetChecksum.add(InternetChecksum.delta(old: old.sourcePort, new: new.sourcePort),
                                         InternetChecksum.delta(old: old.destinationPort, new: new.destinationPort))
        return (old.isIPv4 && new.isIPv4 ? addresses : 0, InternetChecksum.add(addresses, ports))
    }

    /// The one's-complement sum of a key's two addresses, as its pseudo-header holds them.
    static func addressSum(_ key: FlowKey) -> UInt32 {
        func words(_ value: UInt64) -> UInt32 {
            UInt32(value >> 48) + UInt32(value >> 32 & 0xFFFF) + UInt32(value >> 16 & 0xFFFF) + UInt32(value & 0xFFFF)
        }
        if key.isIPv4 {
            let (source, destination) = (key.sourceIPv4.value, key.destinationIPv4.value)
            return InternetChecksum.add(source >> 16 + source & 0xFFFF, destination >> 16 + destination & 0xFFFF)
        }
        return InternetChecksum.add(InternetChecksum.add(words(key.sourceHigh), words(key.sourceLow)),
                                    InternetChecksum.add(words(key.destinationHigh), words(key.destinationLow)))
    }

    /// Lowers the MSS option of a SYN or SYN-ACK to the endpoint's clamp.
    @inline(__always)
    func clampMSS(ipv4 maximum4: UInt16, ipv6 maximum6: UInt16) {
        guard let tcp = try? TCPSegment(transport) else { return }
        tcp.clampMaximumSegmentSize(to: ipv4 != nil ? maximum4 : maximum6)
    }

    /// Writes, over the packet, the RST a TCP endpoint answers it with (RFC 9293 §3.10.7.1:
    /// with ACK, the RST takes its sequence number from the segment's acknowledgment; without,
    /// it acknowledges the segment). Returns the RST's length.
    func writeReset(into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        var fields = TCPFields(sourcePort: key.destinationPort, destinationPort: key.sourcePort, flags: .rst)
        fields.window = 0
        if isACK {
            fields.sequenceNumber = acknowledgment
        } else {
            fields.flags = [.rst, .ack]
            let consumed = UInt32(truncatingIfNeeded: payloadLength) &+ (isSYN ? 1 : 0) &+ (tcpFlags & 0x001 != 0 ? 1 : 0)
            fields.acknowledgmentNumber = sequence &+ consumed
        }
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        if ipv4 != nil {
            let ip = IPv4Fields(source: key.destinationIPv4, destination: key.sourceIPv4)
            return PacketBuilder.ipv4(ip, .tcp(fields), payload: empty, into: buffer)
        }
        let ip = IPv6Fields(source: key.destinationIPv6, destination: key.sourceIPv6)
        return PacketBuilder.ipv6(ip, .tcp(fields), payload: empty, into: buffer)
    }
}
