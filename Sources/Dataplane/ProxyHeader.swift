import PacketWire

// Proxy Protocol v2 on an NLB target group (docs/aws-behaviour.md §3): the NLB puts a PROXY header
// before the first bytes a target receives on each connection, naming the consumer (its address
// and port as seen at the endpoint, and the endpoint's) and the VPC endpoint (AWS's TLV 0xEA,
// subtype 0x01). The NLB never strips a header already in the data, nor merges with it: it only
// adds its own.
//
// The header takes sequence space on the target's side. The client's first byte (its initial
// sequence number + 1) is where the header starts there, so every later client sequence number
// goes up by the header's length, and every acknowledgment and SACK edge the target sends back
// comes down by it (one inside the header becomes the first byte: nothing of the client's data
// was acknowledged yet). A segment from the client's first byte carries the header in front of
// its data until the target has acknowledged the header; the handshake's last ACK is such a
// segment, so a target whose protocol speaks first gets the header before any client data. A
// header repeated in a retransmission is bytes the target has already, and it trims them.

/// A connection's Proxy Protocol state, in its session.
@frozen
public struct ProxyHeaderState: Sendable, Equatable {
    /// The client's initial sequence number; the header starts one after it.
    public var initialSequence: UInt32
    /// The header's length; 0 when the connection has no header.
    public var length: UInt16
    /// The target has acknowledged the whole header.
    public var acknowledged: Bool

    public static let none = ProxyHeaderState(initialSequence: 0, length: 0, acknowledged: false)

    @inlinable
    public init(initialSequence: UInt32, length: UInt16, acknowledged: Bool) {
        self.initialSequence = initialSequence
        self.length = length
        self.acknowledged = acknowledged
    }

    /// The state a session's `kindState` holds.
    @inline(__always)
    init(word: UInt64) {
        self.init(initialSequence: UInt32(truncatingIfNeeded: word >> 32), length: UInt16(truncatingIfNeeded: word >> 16),
                  acknowledged: word & 1 != 0)
    }

    /// The state as a session's `kindState` (zero: no header).
    @inline(__always)
    var word: UInt64 { UInt64(initialSequence) << 32 | UInt64(length) << 16 | (acknowledged ? 1 : 0) }

    /// A value of the client's sequence space as the target sees it, back in the client's.
    @inline(__always)
    func clientSequence(_ value: UInt32) -> UInt32 {
        let first = initialSequence &+ 1
        let offset = Int32(bitPattern: value &- first)
        if offset <= 0 { return value }
        return offset < Int32(length) ? first : value &- UInt32(length)
    }
}

extension Dataplane {
    /// The header a new connection to `group` gets, for a client that sent `packet` (its SYN):
    /// with AWS's TLV when it came through `endpoint`.
    @inline(__always)
    func proxyHeader(forGroup group: Int, endpoint: Int?, syn packet: ParsedPacket) -> ProxyHeaderState {
        guard tables.targetGroups[group].proxyProtocol else { return .none }
        var tlvLength = 0
        if let endpoint { tlvLength = Int(tables.proxyTLVLengths[endpoint]) }
        let length = ProxyProtocolV2.length(ipv6: !packet.key.isIPv4, tlvLength: tlvLength)
        return ProxyHeaderState(initialSequence: packet.sequence, length: UInt16(length), acknowledged: false)
    }

    /// A translated segment from the client to the target: the header put in front of its data
    /// when it starts at the client's first byte, its sequence number moved up by the header
    /// otherwise. Returns why it must be dropped, if it must.
    @inline(__always)
    func proxyForward(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>, index: Int) -> DropReason? {
        guard let tcp = try? TCPSegment(packet.transport), !packet.isSYN else { return nil }
        let state = ProxyHeaderState(word: session.pointee.kindState)
        let offset = Int32(bitPattern: tcp.sequenceNumber &- (state.initialSequence &+ 1))
        if offset < 0 { return nil }
        if offset == 0 && !state.acknowledged {
            return packet.isRST ? nil : prependProxyHeader(packet, tcp: tcp, session: session, index: index)
        }
        tcp.setSequenceNumber(tcp.sequenceNumber &+ UInt32(state.length))
        return nil
    }

    /// A translated segment from the target to the client: its acknowledgment and SACK edges
    /// moved down by the header.
    @inline(__always)
    func proxyReverse(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>) {
        guard packet.isACK, let tcp = try? TCPSegment(packet.transport) else { return }
        var state = ProxyHeaderState(word: session.pointee.kindState)
        let acknowledgment = tcp.acknowledgmentNumber
        if !state.acknowledged && Int32(bitPattern: acknowledgment &- (state.initialSequence &+ 1)) >= Int32(state.length) {
            state.acknowledged = true
            session.pointee.kindState = state.word
        }
        tcp.setAcknowledgmentNumber(state.clientSequence(acknowledgment))
        guard let (start, blocks) = tcp.sackBlocks else { return }
        for edge in 0..<2 * blocks {
            let at = start + 4 * edge
            tcp.rewriteWord(at: at, to: state.clientSequence(tcp.word(at: at)))
        }
    }

    /// Writes the PROXY header between the TCP header and the data, growing the packet.
    private func prependProxyHeader(_ packet: ParsedPacket, tcp: TCPSegment, session: UnsafeMutablePointer<Session>,
                                    index: Int) -> DropReason? {
        let header = Int(ProxyHeaderState(word: session.pointee.kindState).length)
        let base = batch.packets[index]
        let dataStart = base.distance(to: tcp.base) + tcp.headerLength
        let length = packet.length
        guard length + header <= batch.capacities[index], length + header <= Int(UInt16.max) else { return .proxyHeaderNoRoom }
        (base + dataStart + header).copyMemory(from: base + dataStart, byteCount: length - dataStart)
        let client = session.pointee.forward
        var tlv = UnsafeRawBufferPointer(start: nil, count: 0)
        if let endpoint = session.pointee.endpoint.index { tlv = tables.proxyTLV(endpoint) }
        _ = ProxyProtocolV2.writeProxy(at: base + dataStart, source: client.sourceIPv6, destination: client.destinationIPv6,
                                       ipv6: !client.isIPv4, sourcePort: client.sourcePort, destinationPort: client.destinationPort,
                                       tlv: tlv)
        batch.lengths[index] = length + header
        let bytes = batch.bytes(index)
        if let ipv4 = packet.ipv4 {
            ipv4.setTotalLength(length + header)
            guard let grown = try? IPv4Packet(bytes), let segment = try? TCPSegment(grown.payload) else { return .malformed }
            segment.updateChecksum(pseudoHeaderSum: grown.pseudoHeaderSum)
        } else if let ipv6 = packet.ipv6 {
            ipv6.setPayloadLength(ipv6.payloadLength + header)
            guard let grown = try? IPv6Packet(bytes), let segment = try? TCPSegment(grown.upperLayer) else { return .malformed }
            segment.updateChecksum(pseudoHeaderSum: grown.pseudoHeaderSum)
        }
        return nil
    }
}
