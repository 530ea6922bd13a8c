import PacketWire

// ICMP errors of a flow translated between the families (RFC 7915 §4.2, §5.2): an ICMP error
// from an IPv4 target reaches the IPv6 client as ICMPv6, and an ICMPv6 error from the client
// reaches the target as ICMP, each quoting the packet as its receiver knows it. The quoted
// transport bytes stay where they are in the buffer; the headers in front of them are written
// anew, the room made or given back at the front.

extension Dataplane {
    /// Rewrites the ICMP error `packet` about a translated flow into the other family's: from
    /// `outer` (the error's new source and destination), quoting `quoted`. Returns why it must
    /// be dropped, if it must.
    func translateError(_ packet: ParsedPacket, quote: ICMPQuote, outer: FlowKey, quoted: FlowKey, index: Int) -> DropReason? {
        let icmpHeader = ICMPOffset.header
        if let ip = packet.ipv4, let quotedIP = quote.ipv4Quote {
            let message = packet.transport
            let type = message.load(fromByteOffset: ICMPOffset.type, as: UInt8.self)
            let code = message.load(fromByteOffset: ICMPOffset.code, as: UInt8.self)
            guard let mapped = FamilyTranslation.icmpv6(type: type, code: code, rest: quote.restOfHeader) else {
                return .icmpUntranslatable
            }
            let (ttl, payload) = (quotedIP.ttl, quotedIP.totalLength - quotedIP.headerLength)
            let before = ip.headerLength + icmpHeader + quotedIP.headerLength
            let after = IPv6Packet.Offset.fixedHeader + icmpHeader + IPv6Packet.Offset.fixedHeader
            let carried = ip.availableLength - before
            quote.setPorts(quoted)
            let growth = after - before
            if growth > 0 {
                guard batch.prepend(index, bytes: growth) else { return .noRoomToTranslate }
            } else if growth < 0 {
                batch.strip(index, bytes: -growth, keeping: after + carried)
            }
            let base = batch.packets[index]
            let length = icmpHeader + IPv6Packet.Offset.fixedHeader + carried
            FamilyTranslation.writeIPv6(at: base, typeOfService: 0, ttl: 64, protocol: .icmpv6, payloadLength: length,
                                        source: outer.sourceIPv6, destination: outer.destinationIPv6)
            writeICMPHeader(at: base + IPv6Packet.Offset.fixedHeader, mapped)
            FamilyTranslation.writeIPv6(at: base + IPv6Packet.Offset.fixedHeader + icmpHeader, typeOfService: 0, ttl: ttl,
                                        protocol: quoted.ipProtocol, payloadLength: payload, source: quoted.sourceIPv6,
                                        destination: quoted.destinationIPv6)
            batch.lengths[index] = after + carried
            guard let translated = try? IPv6Packet(batch.bytes(index)), let icmp = try? ICMPv6Message(translated.upperLayer) else {
                return .malformed
            }
            icmp.updateChecksum(pseudoHeaderSum: translated.pseudoHeaderSum)
            return nil
        }
        guard let ip = packet.ipv6, let quotedIP = quote.ipv6Quote else { return .malformed }
        let message = packet.transport
        let type = message.load(fromByteOffset: ICMPOffset.type, as: UInt8.self)
        let code = message.load(fromByteOffset: ICMPOffset.code, as: UInt8.self)
        guard let mapped = FamilyTranslation.icmpv4(type: type, code: code, rest: quote.restOfHeader) else {
            return .icmpUntranslatable
        }
        let (hopLimit, payload) = (quotedIP.hopLimit, quotedIP.payloadLength + IPv6Packet.Offset.fixedHeader - quotedIP.upperLayerOffset)
        let before = ip.upperLayerOffset + icmpHeader + quotedIP.upperLayerOffset
        let after = 2 * IPv4Packet.Offset.minimumHeader + icmpHeader
        let carried = ip.availableLength - before
        quote.setPorts(quoted)
        batch.strip(index, bytes: before - after, keeping: after + carried)
        let base = batch.packets[index]
        FamilyTranslation.writeIPv4(at: base, typeOfService: 0, ttl: 64, protocol: .icmp, totalLength: after + carried,
                                    source: outer.sourceIPv4, destination: outer.destinationIPv4)
        writeICMPHeader(at: base + IPv4Packet.Offset.minimumHeader, mapped)
        FamilyTranslation.writeIPv4(at: base + IPv4Packet.Offset.minimumHeader + icmpHeader, typeOfService: 0, ttl: hopLimit,
                                    protocol: quoted.ipProtocol, totalLength: IPv4Packet.Offset.minimumHeader + payload,
                                    source: quoted.sourceIPv4, destination: quoted.destinationIPv4)
        batch.lengths[index] = after + carried
        guard let translated = try? IPv4Packet(batch.bytes(index)), let icmp = try? ICMPv4Message(translated.payload) else {
            return .malformed
        }
        icmp.updateChecksum()
        return nil
    }

    private func writeICMPHeader(at base: UnsafeMutableRawPointer, _ header: (type: UInt8, code: UInt8, rest: UInt32)) {
        base.storeBytes(of: header.type, toByteOffset: ICMPOffset.type, as: UInt8.self)
        base.storeBytes(of: header.code, toByteOffset: ICMPOffset.code, as: UInt8.self)
        base.storeBytes(of: UInt16(0), toByteOffset: ICMPOffset.checksum, as: UInt16.self)
        base.storeBytes(of: header.rest.bigEndian, toByteOffset: ICMPOffset.restOfHeader, as: UInt32.self)
    }
}
