import PacketWire

// ICMP and ICMPv6 errors (RFC 792, RFC 4443) about a flow follow that flow's way back to the
// sender of the packet they quote. For a translated flow both the outer addresses and the quoted
// packet inside are translated back, so that the sender recognises its own packet (within a
// family here, across the families in ICMPTranslation.swift); for a GWLB flow the error goes
// through the flow's appliance, as its packets do.

extension Dataplane {
    /// An ICMP error: by the flow its quote names, out of that flow's port for the error's
    /// direction.
    func icmpError(_ c: inout PacketContext) -> Verdict {
        let packet = c.packet
        let quote: ICMPQuote, index: Int, direction: FlowDirection
        do { (quote, index, direction) = try flowOfError(packet) } catch { return .dropped(error) }
        let session = flows.sessions + index
        if session.pointee.kind == .gatewayLoadBalancer {
            session.pointee.lastSeen = c.now
            return tunnel(session, index: c.index)
        }
        if session.pointee.kind == .endpoint || session.pointee.kind == .loadBalancer {
            let outer = direction == .forward ? session.pointee.reverse.reversed : session.pointee.forward.reversed
            // The quoted packet becomes the packet as its sender sent it.
            let original = direction == .forward ? session.pointee.reverse : session.pointee.forward
            if outer.family == packet.key.family {
                quote.translate(outer: packet, outerSource: outer.source, outerDestination: outer.destination, quoted: original)
            } else if let refusal = translateError(packet, quote: quote, outer: outer, quoted: original, index: c.index) {
                return .dropped(refusal)
            }
        }
        session.pointee.lastSeen = c.now
        return leave(session, direction)
    }

    /// The session an ICMP error is about, and which of its directions the error travels: the
    /// quoted packet went out in some direction, and its reversed key is what that flow's other
    /// side sends. Throws for a quote that cannot be read, or one of no known flow.
    func flowOfError(_ packet: ParsedPacket) throws(DropReason) -> (quote: ICMPQuote, session: Int, direction: FlowDirection) {
        guard let quote = ICMPQuote(packet) else { throw .malformed }
        guard let (session, direction) = flows.lookup(quote.key.reversed) else { throw .icmpErrorUnknownFlow }
        return (quote, session, direction)
    }
}
