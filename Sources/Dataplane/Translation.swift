import PacketWire

// The translation of a balanced flow's packets, both ways: addresses and ports rewritten with the
// checksum deltas the session keeps (RFC 1624), the IP header rewritten between the families
// (RFC 7915) for an IPv6 client of IPv4 targets, the Proxy Protocol header's place kept
// (ProxyHeader.swift), and the MSS of SYNs clamped for the endpoint's 8500 bytes.

extension Dataplane {
    /// Translates a packet of a balanced session in `direction`: addresses and ports (and the
    /// IP header, between the families), then the Proxy Protocol header's place and the MSS
    /// clamp. Returns why it must be dropped, if it must.
    @inline(__always)
    func translate(_ c: inout PacketContext, session: UnsafeMutablePointer<Session>) -> DropReason? {
        let packet = c.packet, direction = c.direction
        let key = direction == .forward ? session.pointee.reverse.reversed : session.pointee.forward.reversed
        let delta = direction == .forward ? session.pointee.forwardDelta : session.pointee.reverseDelta
        // Within a family the packet's views still hold after the rewrite; across, it is read again.
        if packet.key.family == key.family {
            packet.rewrite(as: key, delta: delta)
            return afterTranslation(packet, session: session, direction: direction, index: c.index)
        }
        guard let translated = translateFamily(packet, to: key, delta: delta, index: c.index) else {
            return .noRoomToTranslate
        }
        return afterTranslation(translated, session: session, direction: direction, index: c.index)
    }

    @inline(__always)
    private func afterTranslation(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>, direction: FlowDirection,
                                  index: Int) -> DropReason? {
        if ProxyHeaderState(word: session.pointee.kindState).length > 0 {
            if direction == .forward {
                if let refusal = proxyForward(packet, session: session, index: index) { return refusal }
            } else {
                proxyReverse(packet, session: session)
            }
        }
        if packet.isSYN && session.pointee.clampMSS { clampMSS(packet, session: session) }
        return nil
    }

    /// Rewrites a packet so that it reads as `key`, of the other family: its IP header becomes
    /// the other family's (RFC 7915), in place, and the packet as it now is comes back (the old
    /// views no longer hold). Nil when there is no room in front of the packet for an IPv6
    /// header.
    private func translateFamily(_ packet: ParsedPacket, to key: FlowKey, delta: (header: UInt32, transport: UInt32),
                                 index: Int) -> ParsedPacket? {
        if let ipv6 = packet.ipv6 {
            FlowPorts.write(protocol: ipv6.upperLayerProtocol, segment: ipv6.upperLayer, sourcePort: key.sourcePort,
                            destinationPort: key.destinationPort, delta: delta.transport)
            let start = FamilyTranslation.toIPv4(ipv6, source: key.sourceIPv4, destination: key.destinationIPv4)
            batch.strip(index, bytes: start, keeping: ipv6.availableLength - start)
        } else if let ipv4 = packet.ipv4 {
            FlowPorts.write(protocol: ipv4.protocol, segment: ipv4.payload, sourcePort: key.sourcePort,
                            destinationPort: key.destinationPort, delta: delta.transport)
            let (typeOfService, ttl, proto) = (ipv4.dscp << 2 | ipv4.ecn, ipv4.ttl, ipv4.protocol)
            let payload = ipv4.availableLength - ipv4.headerLength
            let growth = FamilyTranslation.growth(toIPv6: ipv4)
            if growth > 0 {
                guard batch.prepend(index, bytes: growth) else { return nil }
            } else if growth < 0 {
                batch.strip(index, bytes: -growth, keeping: batch.lengths[index] + growth)
            }
            FamilyTranslation.writeIPv6(at: batch.packets[index], typeOfService: typeOfService, ttl: ttl, protocol: proto,
                                        payloadLength: payload, source: key.sourceIPv6, destination: key.destinationIPv6)
            batch.lengths[index] = IPv6Packet.Offset.fixedHeader + payload
        }
        return try? ParsedPacket(batch.bytes(index))
    }

    /// Lowers the MSS of a SYN or SYN-ACK of an endpoint flow to the endpoint's clamp: the
    /// IPv6 one on both sides of a flow translated between the families, whose segments grow by
    /// 20 bytes on their way to the IPv6 side.
    @inline(__always)
    func clampMSS(_ packet: ParsedPacket, session: UnsafeMutablePointer<Session>) {
        let mixed = session.pointee.forward.family != session.pointee.reverse.family
        packet.clampMSS(ipv4: mixed ? configuration.mssClampIPv6 : configuration.mssClampIPv4, ipv6: configuration.mssClampIPv6)
    }
}
